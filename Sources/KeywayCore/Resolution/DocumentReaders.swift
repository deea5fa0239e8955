/// How the engine reads the `document` (YAML, INI, TOML) and `npmrc` sources.
extension ResolutionEngine {
    /// The tree of a `document` source's file contents.
    func documentRoot(_ format: AppSpec.DocumentFormat, _ bytes: [UInt8], path: String) throws(KeywayError) -> JSON {
        if format == .yaml { return try yamlRoot(bytes, path: path) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw KeywayError(.malformedFile, "\(path) is not valid UTF-8 text.", path: path)
        }
        do throws(LineSyntaxError) {
            return format == .ini ? try INI.parse(text) : try TOML.parse(text)
        } catch {
            throw KeywayError(
                .malformedFile, "\(path), \(error) (read as \(format.rawValue.uppercased())).", path: path)
        }
    }

    /// The host a `document` source's `{host}` stands for: the first of its variables set (a URL is cut to its
    /// host), else its default.
    func documentHost(_ document: AppSpec.DocumentPath) throws(KeywayError) -> (host: String, chosenBy: String?)? {
        try host(variables: document.hostVariables, defaultHost: document.defaultHost)
    }

    /// The host a source's `{host}` stands for (`document`, `keyring`): the first of `variables` set (a URL is cut to
    /// its host), else `defaultHost`.
    func host(variables: [String], defaultHost: String?) throws(KeywayError) -> (host: String, chosenBy: String?)? {
        for variable in variables {
            guard var value = environment.nonEmpty(variable) else { continue }
            if let scheme = value.firstRange(of: "://") { value = String(value[scheme.upperBound...]) }
            while value.hasSuffix("/") { value.removeLast() }
            if value.isEmpty || value.contains(where: { $0 == "/" || $0 == "@" || $0.isWhitespace }) {
                throw KeywayError(
                    .invalidInput,
                    "The environment variable \(variable) does not hold a host name (or an http(s) URL of one).")
            }
            return (value.lowercased(), variable)
        }
        return defaultHost.map { ($0, nil) }
    }

    /// The key of `id` in a `document` source's tree, with the path of names read (for `contents(ofFile:)`).
    func documentReading(
        _ root: JSON, _ format: AppSpec.DocumentFormat, _ document: AppSpec.DocumentPath, id: CredentialID,
        path: String
    ) throws(KeywayError) -> (reading: Reading, read: [[String]]) {
        let host = try documentHost(document)
        // One pass: a profile name holding "{host}" (or a host holding "{profile}") stays as it is.
        func substitute(_ name: String, profile: String) -> String {
            name.split(separator: "{profile}", omittingEmptySubsequences: false)
                .map { $0.replacing("{host}", with: host?.host ?? "") }.joined(separator: profile)
        }
        var profile = id.profile
        var entry = document.entry
        var keyField = document.fields.key
        var note = host?.chosenBy.map { " (host from \($0))" } ?? ""
        let namesProfile = (document.entry + [document.fields.key]).contains { $0.contains("{profile}") }
        if profile == CredentialID.defaultProfile {
            if let active = document.activeProfile, let profileEntry = document.profileEntry,
                case .string(let name)? = try Self.value(at: active, in: root, path: path),
                !name.isEmpty, name != CredentialID.defaultProfile
            {
                profile = name
                entry = profileEntry
                keyField = document.profileKeyField ?? keyField
                note += " (\(active.joined(separator: ".")) in the file selects the profile \(shownFileName(name)))"
            }
        } else if let profileEntry = document.profileEntry {
            entry = profileEntry
            keyField = document.profileKeyField ?? keyField
        } else if !namesProfile {
            return (.skipped("holds one key, used for the default profile only"), [])
        }
        let names = entry.map { substitute($0, profile: profile) }
        var fields = document.fields
        fields.key = substitute(keyField, profile: profile)
        for keyPath in [
            \AppSpec.FieldNames.account, \.organization, \.expires, \.scopes,
        ] {
            fields[keyPath: keyPath] = fields[keyPath: keyPath].map { substitute($0, profile: profile) }
        }
        let dotted = names.joined(separator: ".")
        guard let value = try Self.value(at: names, in: root, path: path), value != .null else {
            let what = format == .ini ? "section [\(dotted)]" : format == .toml ? "table [\(dotted)]" : dotted
            return (.missing("\(path) has no \(what)" + note), [])
        }
        guard case .object(let members) = value else {
            throw KeywayError(.malformedFile, "\(path): \(dotted) must be a mapping.", path: path)
        }
        if format == .ini {
            // configparser ignores the case of names, the Rust ini crate does not: a name Keyway reads written in
            // another case is read by one tool and not by another.
            let read = [fields.key, fields.account, fields.organization, fields.expires, fields.scopes].compactMap {
                $0
            }
            for (name, _) in members {
                for field in read where name != field && name.lowercased() == field.lowercased() {
                    throw KeywayError(
                        .malformedFile,
                        "\(path): in [\(dotted)], \(shownFileName(name)) is \(field) in other letter case, which "
                            + "some INI readers take for \(field) and others do not; Keyway does not guess. Write "
                            + "\(field).", path: path)
                }
            }
        }
        let reading = try self.entry(
            value, fields: fields, id: id, path: path, field: dotted.isEmpty ? "" : dotted + ".")
        let read = [fields.key, fields.account, fields.organization, fields.expires, fields.scopes].compactMap { $0 }
            .map { names + [$0] }
        return (noted(reading, note), read)
    }

    /// The value at `names` from the top of `root`; nil when a name is missing. A value on the way that is not a
    /// mapping is an error.
    static func value(at names: [String], in root: JSON, path: String) throws(KeywayError) -> JSON? {
        var value = root
        for (i, name) in names.enumerated() {
            guard case .object = value else {
                // An empty YAML file, or an empty value on the way (gh's `users: NAME:` for an account whose token
                // is in the keyring): nothing there.
                if value == .null { return nil }
                throw KeywayError(
                    .malformedFile, "\(path): \(names[..<i].joined(separator: ".")) must be a mapping.", path: path)
            }
            guard let next = value[name] else { return nil }
            value = next
        }
        return value
    }

    func readDocument(
        _ path: String, _ format: AppSpec.DocumentFormat, _ document: AppSpec.DocumentPath, id: CredentialID,
        collector: WarningCollector
    ) throws(KeywayError) -> Reading {
        guard let bytes = try readBytes(path, collector: collector) else { return .missing("\(path) does not exist") }
        return try documentReading(documentRoot(format, bytes, path: path), format, document, id: id, path: path)
            .reading
    }

    /// The profiles a `document` source's tree holds a key field for (the default profile first, always): pypirc's
    /// `[distutils]` is not a profile.
    func documentProfiles(
        _ root: JSON, _ format: AppSpec.DocumentFormat, _ document: AppSpec.DocumentPath, path: String
    ) throws(KeywayError) -> [String] {
        var result = [CredentialID.defaultProfile]
        let template = document.profileEntry ?? document.entry
        let keyField =
            document.profileEntry == nil ? document.fields.key : document.profileKeyField ?? document.fields.key
        let host = try documentHost(document)?.host ?? ""
        var prefix: [String] = []
        var found = false
        for name in template {
            if name.contains("{profile}") {
                found = true
                break
            }
            prefix.append(name.replacing("{host}", with: host))
        }
        guard found || keyField.contains("{profile}") else { return result }
        guard case .object(let members)? = try Self.value(at: prefix, in: root, path: path) else { return result }
        // Where {profile} names a mapping, the other members (Stripe's top-level `color`) are not profiles.
        // The default profile's key field: a profile naming the same one (pypirc's [pypi]) is not another profile.
        let defaultKey = try? documentReading(
            root, format, document, id: CredentialID(app: spec.name), path: path
        ).read.first
        for (name, value) in members where !result.contains(name) {
            if found, case .object = value {} else if found { continue }
            let id = CredentialID(app: spec.name, profile: name)
            guard let (reading, read) = try? documentReading(root, format, document, id: id, path: path),
                read.first != defaultKey || defaultKey == nil
            else { continue }
            switch reading {
            case .key, .empty: result.append(name)
            default: continue
            }
        }
        return result
    }

    // MARK: npm

    /// npm's setting `name` from the environment: `npm_config_NAME` in any letter case, as npm reads it. Several
    /// spellings with different values are an error (which one npm takes is not certain).
    func npmSetting(_ name: String) throws(KeywayError) -> (value: String, variable: String)? {
        let wanted = "npm_config_" + name
        let set = environment.values.filter { $0.key.lowercased() == wanted && !$0.value.isEmpty }
            .sorted { $0.key < $1.key }
        guard let first = set.first else { return nil }
        if set.contains(where: { $0.value != first.value }) {
            throw KeywayError(
                .invalidInput,
                "The environment sets \(set.map(\.key).joined(separator: " and ")) to different values; npm reads "
                    + "its settings in any letter case, so which one it uses is not certain. Keep one.")
        }
        return (first.value, first.key)
    }

    /// The user config file npm reads: `npm_config_userconfig` (any case; relative to the working directory), else
    /// the source's location.
    func npmrcPath(_ location: AppSpec.FileLocation) throws(KeywayError) -> (path: String, chosenBy: String?) {
        if let (value, variable) = try npmSetting("userconfig") {
            return (Git.absolutePath(expandHome(value, environment), from: workingDirectory), variable)
        }
        return location.resolve(environment)
    }

    /// The `_authToken` of the registry in force in `.npmrc` contents, with the name of its entry.
    func npmrcReading(_ bytes: [UInt8], path: String, defaultRegistry: String, id: CredentialID)
        throws(KeywayError) -> (reading: Reading, entries: [NPMRC.Entry], keyName: String?)
    {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw KeywayError(.malformedFile, "\(path) is not valid UTF-8 text.", path: path)
        }
        func syntax(_ error: LineSyntaxError) -> KeywayError {
            KeywayError(.malformedFile, "\(path), \(error) (read as npm's config format).", path: path)
        }
        let entries: [NPMRC.Entry]
        do throws(LineSyntaxError) { entries = try NPMRC.parse(text, environment: environment) } catch {
            throw syntax(error)
        }
        func only(_ name: String) throws(KeywayError) -> NPMRC.Entry? {
            let matching = entries.filter { $0.name == name }
            if matching.count > 1 {
                throw KeywayError(
                    .malformedFile,
                    "\(path): \(name) is written more than once (lines "
                        + "\(matching.map { String($0.line) }.joined(separator: ", "))), so which one \(spec.name) "
                        + "uses is not certain; Keyway does not guess. Keep one.", path: path)
            }
            return matching.first
        }
        var registry = defaultRegistry
        var registryFrom = "npm's default"
        if let (value, variable) = try npmSetting("registry") {
            registry = value
            registryFrom = variable
        } else if let entry = try only("registry") {
            guard case .string(let value) = entry.value else {
                throw KeywayError(.malformedFile, "\(path): registry (line \(entry.line)) is not a URL.", path: path)
            }
            do throws(LineSyntaxError) { registry = try NPMRC.expand(value, environment, line: entry.line) } catch {
                throw syntax(error)
            }
            registryFrom = "the file's registry setting"
        }
        guard let dart = NPMRC.nerfDart(registry) else {
            throw KeywayError(
                .malformedFile,
                "\(path): the registry in force (\(registryFrom)) is not an http(s) URL Keyway can read (no user, "
                    + "query or fragment).", path: path)
        }
        let keyName = dart + ":_authToken"
        guard let entry = try only(keyName) else {
            return (.missing("\(path) has no \(keyName) entry (the registry from \(registryFrom))"), entries, nil)
        }
        var value = entry.value
        // `${NPM_TOKEN}`, the spec's own variable, not set: the file holds no key of its own but hands on that
        // variable, which resolution has already found unset (`keyway run npm` sets it from the store).
        if case .string(let raw) = value, raw.hasPrefix("${"), raw.hasSuffix("}"),
            case let name = String(raw.dropFirst(2).dropLast()).replacing("?", with: ""),
            spec.environmentVariables.contains(name), environment[name] == nil
        {
            return (
                .missing("\(path): \(keyName) is ${\(name)}, which is not set (the key is that variable's)"),
                entries, keyName
            )
        }
        if case .string(let raw) = value {
            do throws(LineSyntaxError) { value = .string(try NPMRC.expand(raw, environment, line: entry.line)) } catch {
                throw syntax(error)
            }
        }
        let reading = try self.entry(
            .object([(keyName, value)]), fields: AppSpec.FieldNames(key: keyName), id: id, path: path, field: "")
        return (reading, entries, keyName)
    }

    func readNPMRC(_ path: String, defaultRegistry: String, id: CredentialID, collector: WarningCollector)
        throws(KeywayError) -> Reading
    {
        guard let bytes = try readBytes(path, collector: collector) else { return .missing("\(path) does not exist") }
        return try npmrcReading(bytes, path: path, defaultRegistry: defaultRegistry, id: id).reading
    }

    /// The path a file source reads, as resolution names it, and what chose it.
    func resolvedPath(_ source: AppSpec.Source) throws(KeywayError) -> (path: String, chosenBy: String?)? {
        if case .npmrc(let location, _) = source { return try npmrcPath(location) }
        return source.fileLocation.map { $0.resolve(environment) }
    }
}
