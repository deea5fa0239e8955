internal import CYAML

/// The YAML reader for CLI credentials files (FluxLoop's `~/.fluxloop/credentials`), on libyaml (YAML 1.1, the
/// parser PyYAML uses). Everything YAML writers emit is read: block and flow collections, every scalar style (plain,
/// quoted with all escapes, `|` and `>` block scalars, multi-line plain scalars), comments, any line ending (LF,
/// CRLF, CR), a byte-order mark, anchors and aliases, and YAML 1.1 merge keys (`<<`). Values are returned as `JSON`,
/// every scalar as the string written (`1`, `true`, `2024-04-15` stay strings), a plain `~`, `null` or empty scalar
/// as null, so one accessor API serves both formats.
///
/// Refused, with the line and column: a duplicate key in one mapping, a key that is not a scalar, more than one
/// document, nesting deeper than 512 levels, an alias to no anchor, a tag other than YAML's own
/// (`!!str`, `!!int`, ...), and aliases that expand to too many nodes (see `aliasAllowance`; the "billion laughs").
/// An error never quotes the file's text: a scalar there may be a key.
///
/// All of libyaml (pointers, events, its errors) stays in `LibYAMLEvents` below; the tree is built from plain Swift
/// events by `YAMLTreeBuilder`, in one pass, each key looked up in O(1).
package enum YAML {
    public struct SyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
        public let line: Int
        public let column: Int
        public let reason: String
        public var description: String { "\(reason) at line \(line), column \(column)" }

        public init(line: Int, column: Int, reason: String) {
            self.line = line
            self.column = column
            self.reason = reason
        }
    }

    /// The deepest nesting read (as for JSON).
    public static let maximumDepth = 512

    /// Aliases may add at most this many nodes to a document, or four times the nodes written in it when that is
    /// more; past that the file is refused (a billion-laughs file expands to 10^9 nodes from a few hundred bytes).
    public static let aliasAllowance = 100_000

    public static func parse(_ text: String) throws(SyntaxError) -> JSON {
        try parse(Array(text.utf8))
    }

    /// Parses UTF-8 text.
    public static func parse(_ bytes: [UInt8]) throws(SyntaxError) -> JSON {
        if bytes.isEmpty { return .null }
        let result = bytes.withUnsafeBufferPointer { input in
            Result { () throws(SyntaxError) -> JSON in
                var builder = YAMLTreeBuilder()
                try LibYAMLEvents.read(input) { (event, mark) throws(SyntaxError) in try builder.take(event, at: mark) }
                return builder.root ?? .null
            }
        }
        return try result.get()
    }
}

/// A position in the text, 1-based.
struct YAMLMark: Equatable {
    var line: Int
    var column: Int
}

/// One libyaml event as Swift values.
enum YAMLEvent {
    case documentStart
    case scalar(String, plain: Bool, anchor: String?, tag: String?)
    case sequenceStart(anchor: String?, tag: String?)
    case mappingStart(anchor: String?, tag: String?)
    case end
    case alias(String)
    case other
}

/// libyaml's event parser: every pointer and every libyaml error of the binding.
enum LibYAMLEvents {
    static func read(
        _ input: UnsafeBufferPointer<UInt8>, _ body: (YAMLEvent, YAMLMark) throws(YAML.SyntaxError) -> Void
    ) throws(YAML.SyntaxError) {
        guard let base = input.baseAddress else { return }
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        defer { parser.deallocate() }
        guard yaml_parser_initialize(parser) != 0 else {
            throw YAML.SyntaxError(line: 1, column: 1, reason: "the YAML parser could not start (out of memory)")
        }
        defer { yaml_parser_delete(parser) }
        yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
        yaml_parser_set_input_string(parser, base, input.count)
        var event = yaml_event_t()
        while true {
            guard yaml_parser_parse(parser, &event) != 0 else { throw error(parser.pointee, input) }
            let type = event.type
            let mark = YAMLMark(line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
            let converted = convert(&event)
            yaml_event_delete(&event)
            if type == YAML_STREAM_END_EVENT { return }
            try body(converted, mark)
        }
    }

    static func text(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: UnsafePointer($0)) }
    }

    static func convert(_ event: inout yaml_event_t) -> YAMLEvent {
        switch event.type {
        case YAML_DOCUMENT_START_EVENT:
            return .documentStart
        case YAML_SCALAR_EVENT:
            let s = event.data.scalar
            let value =
                s.length == 0 || s.value == nil
                ? "" : String(decoding: UnsafeBufferPointer(start: s.value, count: Int(s.length)), as: UTF8.self)
            return .scalar(
                value, plain: s.style == YAML_PLAIN_SCALAR_STYLE, anchor: text(s.anchor), tag: text(s.tag))
        case YAML_SEQUENCE_START_EVENT:
            return .sequenceStart(
                anchor: text(event.data.sequence_start.anchor), tag: text(event.data.sequence_start.tag))
        case YAML_MAPPING_START_EVENT:
            return .mappingStart(anchor: text(event.data.mapping_start.anchor), tag: text(event.data.mapping_start.tag))
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            return .end
        case YAML_ALIAS_EVENT:
            return .alias(text(event.data.alias.anchor) ?? "")
        default:
            return .other
        }
    }

    /// libyaml's error: its messages are fixed texts (they never quote the input), with the position.
    static func error(_ parser: yaml_parser_t, _ input: UnsafeBufferPointer<UInt8>) -> YAML.SyntaxError {
        let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
        switch parser.error {
        case YAML_MEMORY_ERROR:
            return YAML.SyntaxError(line: 1, column: 1, reason: "out of memory reading YAML")
        case YAML_READER_ERROR:
            // The reader gives a byte offset, not a mark.
            let (line, column) = position(ofByte: min(Int(parser.problem_offset), input.count), in: input)
            return YAML.SyntaxError(line: line, column: column, reason: problem)
        default:
            var reason = problem
            if let context = parser.context.map({ String(cString: $0) }) {
                reason +=
                    " (\(context) that starts at line \(parser.context_mark.line + 1), column "
                    + "\(parser.context_mark.column + 1))"
            }
            return YAML.SyntaxError(
                line: Int(parser.problem_mark.line) + 1, column: Int(parser.problem_mark.column) + 1, reason: reason)
        }
    }

    /// The 1-based line and column (in characters) of a byte offset; LF, CRLF and CR end lines.
    static func position(ofByte offset: Int, in input: UnsafeBufferPointer<UInt8>) -> (Int, Int) {
        var line = 1, column = 1
        var i = 0
        while i < offset {
            let b = input[i]
            if b == 0x0A || (b == 0x0D && (i + 1 >= input.count || input[i + 1] != 0x0A)) {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80 && b != 0x0D {
                column += 1
            }
            i += 1
        }
        return (line, column)
    }
}

/// Builds the value of one YAML document from its events, iteratively (no recursion, whatever the nesting).
struct YAMLTreeBuilder {
    typealias SyntaxError = YAML.SyntaxError

    /// An open collection.
    struct Frame {
        let isMapping: Bool
        let anchor: String?
        /// The nodes under this one, itself included, with aliases expanded.
        var size = 1
        var items: [JSON] = []
        var members: [(String, JSON)] = []
        /// Where each member's key is, for the duplicate-key error.
        var keyMarks: [YAMLMark] = []
        /// Member index by key, built once a mapping has more than a few members (before that a scan is faster).
        /// Keys are compared by Unicode scalars (as PyYAML does), not by canonical equivalence.
        var index: [ExactString: Int] = [:]
        /// The key read, waiting for its value.
        var pendingKey: String?
        var pendingKeyMark = YAMLMark(line: 0, column: 0)
        var pendingIsMerge = false
        /// Where the merge key `<<` was, and the members it merges, lowest precedence first.
        var mergeMark: YAMLMark?
        var merged: [(String, JSON)] = []

        init(isMapping: Bool, anchor: String?) {
            self.isMapping = isMapping
            self.anchor = anchor
        }

        func firstMark(of key: String) -> YAMLMark? {
            if members.count <= YAMLTreeBuilder.scanLimit {
                return members.firstIndex { $0.0.utf8.elementsEqual(key.utf8) }.map { keyMarks[$0] }
            }
            return index[ExactString(key)].map { keyMarks[$0] }
        }

        mutating func append(_ key: String, _ value: JSON, at mark: YAMLMark) {
            members.append((key, value))
            keyMarks.append(mark)
            if members.count == YAMLTreeBuilder.scanLimit + 1 {
                index.reserveCapacity(members.count * 2)
                for (i, member) in members.enumerated() { index[ExactString(member.0)] = i }
            } else if members.count > YAMLTreeBuilder.scanLimit {
                index[ExactString(key)] = members.count - 1
            }
        }
    }

    static let scanLimit = 8
    static let yamlTag = "tag:yaml.org,2002:"
    static let scalarTags: Set<String> = ["str", "null", "bool", "int", "float", "timestamp"]
    static let collectionTags: Set<String> = ["map", "seq", "omap", "pairs", "set"]

    var stack: [Frame] = []
    var anchors: [String: (value: JSON, size: Int)] = [:]
    var root: JSON?
    var documents = 0
    /// Nodes written in the text, and nodes added by aliases.
    var written = 0
    var aliased = 0

    mutating func take(_ event: YAMLEvent, at mark: YAMLMark) throws(SyntaxError) {
        switch event {
        case .documentStart:
            documents += 1
            if documents > 1 {
                throw SyntaxError(
                    line: mark.line, column: mark.column, reason: "a second YAML document (a file holds one)")
            }
        case .scalar(let text, let plain, let anchor, let tag):
            written += 1
            var isNull =
                plain && tag == nil
                && (text.isEmpty || text == "~" || text == "null" || text == "Null"
                    || text == "NULL")
            if let tag {
                guard
                    tag == "!"
                        || (tag.hasPrefix(Self.yamlTag)
                            && (Self.scalarTags.contains(String(tag.dropFirst(Self.yamlTag.count)))
                                || tag == Self.yamlTag + "merge"))
                else { throw SyntaxError(line: mark.line, column: mark.column, reason: "an unsupported tag") }
                isNull = tag == Self.yamlTag + "null"
            }
            if expectingKey {
                let merge = (plain && tag == nil && text == "<<") || tag == Self.yamlTag + "merge"
                if let anchor { anchors[anchor] = (.string(text), 1) }
                try key(text, merge: merge, at: mark)
            } else {
                try complete(isNull ? .null : .string(text), size: 1, anchor: anchor, at: mark)
            }
        case .sequenceStart(let anchor, let tag), .mappingStart(let anchor, let tag):
            written += 1
            if expectingKey {
                throw SyntaxError(
                    line: mark.line, column: mark.column, reason: "a mapping key that is not a scalar (not supported)")
            }
            if let tag, tag != "!",
                !(tag.hasPrefix(Self.yamlTag)
                    && Self.collectionTags.contains(String(tag.dropFirst(Self.yamlTag.count))))
            {
                throw SyntaxError(line: mark.line, column: mark.column, reason: "an unsupported tag")
            }
            if stack.count >= YAML.maximumDepth {
                throw SyntaxError(
                    line: mark.line, column: mark.column, reason: "nesting deeper than \(YAML.maximumDepth) levels")
            }
            if case .mappingStart = event {
                stack.append(Frame(isMapping: true, anchor: anchor))
            } else {
                stack.append(Frame(isMapping: false, anchor: anchor))
            }
        case .end:
            let frame = stack.removeLast()
            let value: JSON
            if !frame.isMapping {
                value = .array(frame.items)
            } else if frame.mergeMark == nil {
                value = .object(frame.members)
            } else {
                // YAML 1.1 merge: the mapping's own keys win over merged ones; keys in the order PyYAML gives them.
                var result: [(String, JSON)] = []
                var at: [ExactString: Int] = [:]
                result.reserveCapacity(frame.merged.count + frame.members.count)
                for (key, member) in [frame.merged, frame.members].joined() {
                    if let i = at[ExactString(key)] {
                        result[i].1 = member
                    } else {
                        at[ExactString(key)] = result.count
                        result.append((key, member))
                    }
                }
                value = .object(result)
            }
            try complete(value, size: frame.size, anchor: frame.anchor, at: mark)
        case .alias(let name):
            written += 1
            guard let anchored = anchors[name] else {
                throw SyntaxError(
                    line: mark.line, column: mark.column,
                    reason: "an alias to an anchor that is not defined before it (or contains it)")
            }
            aliased += anchored.size
            if aliased > max(YAML.aliasAllowance, 4 * written) {
                throw SyntaxError(
                    line: mark.line, column: mark.column,
                    reason: "aliases expand to more than \(max(YAML.aliasAllowance, 4 * written)) nodes (refused as "
                        + "an alias bomb)")
            }
            if expectingKey {
                guard case .string(let text) = anchored.value else {
                    throw SyntaxError(
                        line: mark.line, column: mark.column,
                        reason: "a mapping key that is not a scalar (not supported)")
                }
                try key(text, merge: false, at: mark)
            } else {
                try complete(anchored.value, size: anchored.size, anchor: nil, at: mark)
            }
        case .other:
            break
        }
    }

    var expectingKey: Bool {
        guard let top = stack.last else { return false }
        return top.isMapping && top.pendingKey == nil
    }

    mutating func key(_ text: String, merge: Bool, at mark: YAMLMark) throws(SyntaxError) {
        let top = stack.count - 1
        if merge {
            if let first = stack[top].mergeMark {
                throw SyntaxError(
                    line: mark.line, column: mark.column,
                    reason:
                        "a second merge key '<<' in one mapping (first at line \(first.line), column \(first.column))")
            }
            stack[top].mergeMark = mark
        } else if let first = stack[top].firstMark(of: text) {
            // The key itself is not quoted: it may be a pasted API key.
            throw SyntaxError(
                line: mark.line, column: mark.column,
                reason: "a duplicate key in one mapping (first at line \(first.line), column \(first.column))")
        }
        stack[top].pendingKey = text
        stack[top].pendingKeyMark = mark
        stack[top].pendingIsMerge = merge
    }

    mutating func complete(_ value: JSON, size: Int, anchor: String?, at mark: YAMLMark) throws(SyntaxError) {
        if let anchor { anchors[anchor] = (value, size) }
        guard !stack.isEmpty else {
            root = value
            return
        }
        let top = stack.count - 1
        stack[top].size += size
        guard stack[top].isMapping else {
            stack[top].items.append(value)
            return
        }
        let key = stack[top].pendingKey!
        let keyMark = stack[top].pendingKeyMark
        stack[top].pendingKey = nil
        guard stack[top].pendingIsMerge else {
            stack[top].append(key, value, at: keyMark)
            return
        }
        // `<<: *a` merges one mapping; `<<: [*a, *b]` several, an earlier one winning over a later one.
        switch value {
        case .object(let members):
            stack[top].merged = members
        case .array(let items):
            var merged: [(String, JSON)] = []
            for item in items.reversed() {
                guard case .object(let members) = item else { throw mergeError(keyMark) }
                merged.append(contentsOf: members)
            }
            stack[top].merged = merged
        default:
            throw mergeError(keyMark)
        }
    }

    func mergeError(_ mark: YAMLMark) -> SyntaxError {
        SyntaxError(
            line: mark.line, column: mark.column,
            reason: "the merge key '<<' must have a mapping or a list of mappings as its value")
    }
}
