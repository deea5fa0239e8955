/// How the engine reads the tool's own files: raw key files, JSON and YAML credentials files, the git-root file.
extension ResolutionEngine {
    /// A file at the root of a git repository is in a directory anyone may have cloned, and a clone can hold
    /// symbolic links: one leading out of the repository (to `~/.gh-token`, another tool's key file) would hand
    /// that secret to this tool. Such a link, or one whose target cannot be resolved, is refused; a link to a file
    /// inside the repository is read like the file.
    static func refuseLinkOutOfRepository(_ path: String, root: String) throws(KeywayError) {
        guard let st = try? Sys.lstat(path), FileMode.isSymlink(st) else { return }
        let realRoot = (try? Sys.realpath(root)) ?? root
        let target = try? Sys.realpath(path)
        if let target, Git.isInside(target, realRoot), target != realRoot { return }
        throw KeywayError(
            .unsafeFile,
            "\(path) is a symbolic link "
                + (target.map { "to \($0), outside the repository \(realRoot)" } ?? "whose target cannot be resolved")
                + ": Keyway does not follow it, since a cloned repository can plant such a link to hand "
                + "another tool's key over. Replace the link with the key file itself, or pass the file with "
                + "--key-file.", path: path)
    }

    func annotate(_ reading: Reading, _ chosenBy: String?) -> Reading {
        guard let chosenBy else { return reading }
        return noted(reading, " (location from \(chosenBy))")
    }

    /// `reading` with `note` added to its detail.
    func noted(_ reading: Reading, _ note: String) -> Reading {
        if note.isEmpty { return reading }
        switch reading {
        case .missing(let d): return .missing(d + note)
        case .empty(let d): return .empty(d + note)
        case .skipped(let d): return .skipped(d + note)
        case .key(let k, let d): return .key(k, d + note)
        }
    }

    func readBytes(
        _ path: String, collector: WarningCollector, sizeLimit: Int = ProtectedFile.defaultSizeLimit
    ) throws(KeywayError) -> [UInt8]? {
        let file = ProtectedFile(path: path, strict: strict, warn: collector.handler, sizeLimit: sizeLimit)
        guard var bytes = try file.read() else { return nil }
        collector.gitCheck(path, self)
        // A UTF-8 byte-order mark at the start (Windows editors write one) marks the file's encoding; it is not part
        // of the key. Anywhere else U+FEFF is a format character, which `APIKeyRules` refuses.
        bytes = Self.withoutByteOrderMark(bytes)
        return bytes
    }

    static func withoutByteOrderMark(_ bytes: [UInt8]) -> [UInt8] {
        bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes
    }

    func readRaw(_ path: String, id: CredentialID, source: KeySource, collector: WarningCollector)
        throws(KeywayError) -> Reading
    {
        guard let bytes = try readBytes(path, collector: collector, sizeLimit: ProtectedFile.keyFileSizeLimit) else {
            return .missing("\(path) does not exist")
        }
        return try rawReading(bytes, path: path, id: id, source: source)
    }

    /// The key of a raw key file's contents.
    func rawReading(_ bytes: [UInt8], path: String, id: CredentialID, source: KeySource) throws(KeywayError) -> Reading
    {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw KeywayError(.malformedFile, "\(path) is not valid UTF-8 text.", path: path)
        }
        let key = text.trimmingWhitespace()
        if key.isEmpty { return .empty("\(path) is empty") }
        if key.contains(where: { $0.isNewline }) {
            throw KeywayError(
                .malformedFile, "\(path) holds more than one line; a key file holds only the key.", path: path)
        }
        if let violation = APIKeyRules.violation(key) {
            throw KeywayError(.malformedFile, "\(path) holds a key that \(violation).", path: path)
        }
        return .key(ResolvedKey(id: id, secret: Secret(key), source: source), "read from \(path)")
    }

    func readJSON(_ path: String, fields: AppSpec.FieldNames, id: CredentialID, collector: WarningCollector)
        throws(KeywayError) -> Reading
    {
        guard let bytes = try readBytes(path, collector: collector) else { return .missing("\(path) does not exist") }
        return try entry(try jsonRoot(bytes, path: path), fields: fields, id: id, path: path, field: "")
    }

    /// The top-level object of a JSON credentials file's contents.
    func jsonRoot(_ bytes: [UInt8], path: String) throws(KeywayError) -> JSON {
        let root: JSON
        do throws(JSONSyntaxError) { root = try JSON.parse(bytes) } catch {
            throw KeywayError(.malformedFile, "\(path) is not valid JSON: \(error).", path: path)
        }
        guard case .object = root else {
            throw KeywayError(.malformedFile, "\(path): the top level must be an object.", path: path)
        }
        return root
    }

    /// The document of a YAML credentials file's contents.
    func yamlRoot(_ bytes: [UInt8], path: String) throws(KeywayError) -> JSON {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw KeywayError(.malformedFile, "\(path) is not valid UTF-8 text.", path: path)
        }
        do throws(YAML.SyntaxError) { return try YAML.parse(text) } catch {
            throw KeywayError(.malformedFile, "\(path) is not valid YAML: \(error).", path: path)
        }
    }

    func readYAML(
        _ path: String, profilesField: String, fields: AppSpec.FieldNames, id: CredentialID,
        collector: WarningCollector
    ) throws(KeywayError) -> Reading {
        guard let bytes = try readBytes(path, collector: collector) else { return .missing("\(path) does not exist") }
        let root = try yamlRoot(bytes, path: path)
        guard let profiles = root[profilesField], case .object(let members) = profiles else {
            return .missing("\(path) has no \(profilesField) section")
        }
        guard let entryValue = profiles[id.profile] else {
            let names = members.map(\.0).joined(separator: ", ")
            return .missing("\(path) has no profile \(id.profile) (profiles: \(names.isEmpty ? "none" : names))")
        }
        guard case .object = entryValue else {
            throw KeywayError(
                .malformedFile, "\(path): \(profilesField).\(id.profile) must be a mapping.", path: path)
        }
        return try entry(entryValue, fields: fields, id: id, path: path, field: "\(profilesField).\(id.profile).")
    }

    /// Reads the key and metadata fields of one JSON/YAML entry.
    func entry(_ value: JSON, fields: AppSpec.FieldNames, id: CredentialID, path: String, field prefix: String)
        throws(KeywayError) -> Reading
    {
        func string(_ name: String?) throws(KeywayError) -> String? {
            guard let name, let v = value[name], v != .null else { return nil }
            guard let s = v.stringValue else {
                throw KeywayError(
                    .malformedFile, "\(path): \(prefix)\(name) must be a string, found \(v.typeName).", path: path)
            }
            return s
        }
        // A field Keyway reads written twice is ambiguous: the tool's own JSON reader may take the last one
        // (Python's and Node's do), another the first; a security tool does not guess.
        if case .object(let members) = value {
            let read = Set(
                [fields.key, fields.account, fields.organization, fields.expires, fields.scopes].compactMap { $0 })
            var names = MemberNames()
            for (name, _) in members where read.contains(name) && !names.insert(name) {
                throw KeywayError(
                    .malformedFile,
                    "\(path): \(prefix)\(name) is written more than once, so which one \(spec.name) uses is not "
                        + "certain; Keyway does not guess. Keep one.", path: path)
            }
        }
        guard let key = try string(fields.key) else { return .missing("\(path) has no \(prefix)\(fields.key) field") }
        if key.isEmpty { return .empty("\(path): \(prefix)\(fields.key) is empty") }
        if let violation = APIKeyRules.violation(key) {
            throw KeywayError(
                .malformedFile, "\(path): \(prefix)\(fields.key) holds a key that \(violation).", path: path)
        }
        var resolved = ResolvedKey(id: id, secret: Secret(key), source: .file(path))
        resolved.account = try string(fields.account)
        resolved.organization = try string(fields.organization)
        if let expires = try string(fields.expires) {
            guard let day = Day(parsing: String(expires.prefix(10))) else {
                throw KeywayError(
                    .malformedFile, "\(path): \(prefix)\(fields.expires!) must be a date YYYY-MM-DD.", path: path)
            }
            resolved.expires = day
        }
        if let scopesField = fields.scopes, let v = value[scopesField], v != .null {
            switch v {
            case .array(let items): resolved.scopes = items.compactMap(\.stringValue)
            case .string(let s): resolved.scopes = s.split(separator: ",").map { String($0).trimmingWhitespace() }
            default: break
            }
        }
        return .key(resolved, "read from \(path)")
    }
}

extension String {
    package func trimmingWhitespace() -> String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return String(s)
    }
}

/// The process's current working directory ("/" when it cannot be read): what `ResolutionEngine` (its default) and
/// `LeakCheckOptions` take as `workingDirectory` for a program run from the directory it works on.
public func currentDirectory() -> String {
    Sys.currentDirectory() ?? "/"
}
