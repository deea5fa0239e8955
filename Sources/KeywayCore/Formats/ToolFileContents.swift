/// What one of a tool's own credentials files holds, measured against what Keyway stores of it: the keys with the
/// fields Keyway imports, and everything else. `keyway import --remove` deletes a file only when it holds nothing
/// but keys the store holds as the file does (`others` empty, `unstored(in:)` empty).
public struct ToolFileContents: Sendable {
    /// Its keys with the fields the spec maps (account, organization, expiry, scopes), one per profile; a one-key
    /// file's key is the default profile's.
    public var keys: [ResolvedKey] = []
    /// What else it holds, for people, never quoting a value: other entries and fields, profiles without a key,
    /// a `#` (a comment, or one inside a value).
    public var others: [String] = []

    /// The profiles whose key the store does not hold (`keys`), and those whose key it holds but not with the
    /// file's account, organization, expiry or scopes (`details`).
    public func unstored(in store: any CredentialStore) throws(KeywayError) -> (keys: [String], details: [String]) {
        var keys: [String] = []
        var details: [String] = []
        for key in self.keys {
            guard let stored = try store.read(key.id), stored.secret == key.secret else {
                keys.append(key.id.profile)
                continue
            }
            if (key.account != nil && key.account != stored.account)
                || (key.organization != nil && key.organization != stored.organization)
                || (key.expires != nil && key.expires != stored.expires)
                || (!key.scopes.isEmpty && key.scopes != stored.scopes)
            {
                details.append(key.id.profile)
            }
        }
        return (keys, details)
    }
}

extension ResolutionEngine {
    /// What the spec's file at `path` holds, read from `bytes` (its contents); nil when the spec names no such file.
    /// Errors are those of reading it for a key.
    public func contents(ofFile path: String, bytes: [UInt8]) throws(KeywayError) -> ToolFileContents? {
        let id = CredentialID(app: spec.name)
        var contents = ToolFileContents()
        for source in spec.sources {
            switch source {
            case .raw(let location) where location.resolve(environment).path == path:
                try contents.add(rawReading(bytes, path: path, id: id, source: .file(path)), what: "the key")
            case .gitRoot(let name) where path.hasSuffix("/" + name):
                try contents.add(rawReading(bytes, path: path, id: id, source: .file(path)), what: "the key")
            case .json(let location, let fields) where location.resolve(environment).path == path:
                let root = try jsonRoot(bytes, path: path)
                try contents.add(entry(root, fields: fields, id: id, path: path, field: ""), what: "the key")
                contents.others += Self.otherFields(root, fields).map { "the field \($0)" }
            case .yamlProfiles(let location, let profilesField, let fields)
            where location.resolve(environment).path == path:
                let root = try yamlRoot(bytes, path: path)
                guard case .object(let top) = root else {
                    contents.others.append("something other than a \(profilesField) mapping")
                    break
                }
                for (name, _) in top where name != profilesField {
                    contents.others.append("the top-level entry \(Self.shown(name))")
                }
                guard case .object(let profiles)? = root[profilesField] else { break }
                for (profile, value) in profiles {
                    guard case .object = value else {
                        contents.others.append("the profile \(profile), which is not a mapping")
                        continue
                    }
                    let reading = try entry(
                        value, fields: fields, id: CredentialID(app: spec.name, profile: profile), path: path,
                        field: "\(profilesField).\(profile).")
                    contents.add(reading, what: "the profile \(profile), which holds no key")
                    contents.others += Self.otherFields(value, fields).map {
                        "the field \($0) of the profile \(profile)"
                    }
                }
                // libyaml drops comments: a `#` anywhere may be one (or part of a value); either way it stays.
                if bytes.contains(UInt8(ascii: "#")) {
                    contents.others.append("a '#' (a comment, or one inside a value)")
                }
            case .document(let format, let location, let document) where location.resolve(environment).path == path:
                let root = try documentRoot(format, Self.withoutByteOrderMark(bytes), path: path)
                var read: [[String]] = []
                for profile in try documentProfiles(root, format, document, path: path) {
                    let (reading, names) = try documentReading(
                        root, format, document, id: CredentialID(app: spec.name, profile: profile), path: path)
                    if case .skipped = reading { continue }
                    contents.add(reading, what: "the profile \(shownFileName(profile)), which holds no key")
                    read += names
                }
                contents.others += Self.leaves(root).filter { !read.contains($0) }.map {
                    "the entry " + Self.shownPath($0)
                }
                // The parsers drop comments: a `#` or `;` anywhere may be one (or part of a value); either way it
                // stays.
                if bytes.contains(UInt8(ascii: "#")) || (format == .ini && bytes.contains(UInt8(ascii: ";"))) {
                    contents.others.append("a comment (or a '#' in a value)")
                }
            case .npmrc(let location, let defaultRegistry) where (try? npmrcPath(location))?.path == path:
                let (reading, entries, keyName) = try npmrcReading(
                    Self.withoutByteOrderMark(bytes), path: path, defaultRegistry: defaultRegistry, id: id)
                contents.add(reading, what: "the key")
                contents.others += entries.filter { $0.name != keyName }.map { "the setting " + Self.shown($0.name) }
                if bytes.contains(UInt8(ascii: "#")) || bytes.contains(UInt8(ascii: ";"))
                    || bytes.contains(UInt8(ascii: "["))
                {
                    contents.others.append("a comment or a [section]")
                }
            default:
                continue
            }
            return contents
        }
        return nil
    }

    /// The members of an entry that are not the fields the spec maps, as shown in messages.
    static func otherFields(_ value: JSON, _ fields: AppSpec.FieldNames) -> [String] {
        guard case .object(let members) = value else { return [] }
        let mapped = [fields.key, fields.account, fields.organization, fields.expires, fields.scopes].compactMap { $0 }
        return members.filter { !mapped.contains($0.0) }.map { shown($0.0) }
    }

    /// The paths of names to every value of a tree that is not a non-empty mapping.
    static func leaves(_ value: JSON, _ prefix: [String] = []) -> [[String]] {
        guard case .object(let members) = value, !members.isEmpty else { return prefix.isEmpty ? [] : [prefix] }
        return members.flatMap { leaves($0.1, prefix + [$0.0]) }
    }

    /// A path of names from a file, shown when none of them could be a key.
    static func shownPath(_ names: [String]) -> String {
        names.allSatisfy(APIKeyRules.isQuotable)
            ? "'\(names.joined(separator: "."))'" : "(a name not shown: it could be a key)"
    }

    /// A name from a file, quoted when it cannot be a key (`APIKeyRules.isQuotable`), else described.
    static func shown(_ name: String) -> String {
        APIKeyRules.isQuotable(name) ? "'\(name)'" : "(a name not shown: it could be a key)"
    }
}

extension ToolFileContents {
    fileprivate mutating func add(_ reading: ResolutionEngine.Reading, what: String) {
        if case .key(let key, _) = reading { keys.append(key) } else { others.append(what) }
    }
}
