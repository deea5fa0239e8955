/// Decodes the app spec JSON format; errors name the file and the field.
public enum AppSpecDecoder {
    public static func decode(_ bytes: [UInt8], source: String) throws(KeywayError) -> AppSpec {
        let root: JSON
        do throws(JSONSyntaxError) { root = try JSON.parse(bytes) } catch {
            throw KeywayError(.malformedSpec, "App spec \(source) is not valid JSON: \(error).", path: source)
        }
        func bad(_ field: String, _ problem: String) -> KeywayError {
            KeywayError(.malformedSpec, "App spec \(source): \(field) \(problem).", path: source)
        }
        guard case .object(let members) = root else { throw bad("the top level", "must be an object") }
        let known: Set<String> = [
            "name", "env", "sources", "required_prefixes", "expected_prefixes", "prefix_message", "token_kinds",
            "not_found", "rotate_after_days",
        ]
        // Errors never quote a value from the file (it may hold a pasted key). An unknown field's name is shown only
        // when it cannot be a key (`APIKeyRules.isQuotable`).
        func fieldName(_ name: String, under parent: String? = nil) -> String {
            guard APIKeyRules.isQuotable(name) else {
                return (parent.map { "\($0): " } ?? "")
                    + "a field whose name is not shown (it does not look like a field name)"
            }
            return parent.map { "\($0).\(name)" } ?? "\"\(name)\""
        }
        for (key, _) in members where !known.contains(key) {
            throw bad(fieldName(key), "is not a known field (known: \(known.sorted().joined(separator: ", ")))")
        }
        // A field written twice, at any depth, is refused: read last-one-wins, the spec would not say what it seems
        // to (the same rule as for credentials files and YAML).
        if let steps = root.firstRepeatedMember() {
            var parent: String?
            for step in steps.dropLast() {
                switch step {
                case .element(let index): parent = (parent ?? "") + "[\(index)]"
                case .member(let name) where APIKeyRules.isQuotable(name):
                    parent = parent.map { "\($0).\(name)" } ?? name
                case .member(let name):
                    throw bad(fieldName(name, under: parent), "holds a field written more than once")
                }
            }
            guard case .member(let name)? = steps.last else { throw bad("a field", "is written more than once") }
            throw bad(fieldName(name, under: parent), "is written more than once")
        }
        func string(_ value: JSON?, _ field: String, required: Bool = false) throws(KeywayError) -> String? {
            guard let value, value != .null else {
                if required { throw bad(field, "is missing") }
                return nil
            }
            guard let s = value.stringValue else { throw bad(field, "must be a string, found \(value.typeName)") }
            if required && s.isEmpty { throw bad(field, "must not be empty") }
            return s
        }
        func strings(_ value: JSON?, _ field: String) throws(KeywayError) -> [String] {
            guard let value, value != .null else { return [] }
            guard case .array(let items) = value else { throw bad(field, "must be an array of strings") }
            var result: [String] = []
            for (i, item) in items.enumerated() {
                guard let s = item.stringValue, !s.isEmpty else {
                    throw bad("\(field)[\(i)]", "must be a non-empty string")
                }
                result.append(s)
            }
            return result
        }
        let name = try string(root["name"], "\"name\"", required: true)!
        if let problem = CredentialID(app: name).problem {
            throw bad("\"name\"", "is not a usable app name (the \(problem))")
        }
        guard let envValue = root["env"] else { throw bad("\"env\"", "is missing (use [] for a tool that reads none)") }
        let env = try strings(envValue, "\"env\"")
        for (i, variable) in env.enumerated() where !isVariableName(variable) {
            throw bad("\"env\"[\(i)]", "is not a valid environment variable name")
        }

        guard case .array(let sourceValues)? = root["sources"] else {
            throw bad("\"sources\"", "must be an array of sources")
        }
        var sources: [AppSpec.Source] = []
        for (i, value) in sourceValues.enumerated() {
            let field = "sources[\(i)]"
            guard case .object(let sourceMembers) = value else { throw bad(field, "must be an object") }
            let type = try string(value["type"], "\(field).type", required: true)!
            let allowed: Set<String>
            let locationFields: Set<String> = ["path", "dir_env", "file_env", "config_home_env"]
            let fieldNames: Set<String> = [
                "key_field", "account_field", "organization_field", "expires_field", "scopes_field",
            ]
            switch type {
            case "store": allowed = ["type"]
            case "git-root": allowed = ["type", "file"]
            case "raw": allowed = Set(["type"]).union(locationFields)
            case "json": allowed = Set(["type"]).union(locationFields).union(fieldNames)
            case "yaml-profiles": allowed = Set(["type", "profiles_field"]).union(locationFields).union(fieldNames)
            case "yaml", "ini", "toml":
                allowed = Set([
                    "type", "entry", "profile_entry", "profile_key_field", "active_profile", "host_env", "default_host",
                ]).union(locationFields).union(fieldNames)
            case "npmrc": allowed = Set(["type", "default_registry"]).union(locationFields)
            case "keyring": allowed = ["type", "attributes", "profile_attributes", "host_env", "default_host"]
            default:
                throw bad(
                    "\(field).type",
                    "must be one of json, raw, yaml-profiles, yaml, ini, toml, npmrc, keyring, git-root, store")
            }
            for (key, _) in sourceMembers where !allowed.contains(key) {
                throw bad(fieldName(key, under: field), "is not a field of a \(type) source")
            }
            func location() throws(KeywayError) -> AppSpec.FileLocation {
                let path = try string(value["path"], "\(field).path", required: true)!
                let dirEnv = try string(value["dir_env"], "\(field).dir_env")
                let fileEnv = try string(value["file_env"], "\(field).file_env")
                let homeEnv = try string(value["config_home_env"], "\(field).config_home_env")
                for (f, v) in [("dir_env", dirEnv), ("file_env", fileEnv), ("config_home_env", homeEnv)]
                where v.map(isVariableName) == false {
                    throw bad("\(field).\(f)", "is not a valid environment variable name")
                }
                if homeEnv != nil && !path.hasPrefix("~/.config/") {
                    throw bad("\(field).config_home_env", "needs a path that starts with ~/.config/")
                }
                return AppSpec.FileLocation(
                    path: path, directoryVariable: dirEnv, fileVariable: fileEnv, configHomeVariable: homeEnv)
            }
            func fields() throws(KeywayError) -> AppSpec.FieldNames {
                AppSpec.FieldNames(
                    key: try string(value["key_field"], "\(field).key_field", required: true)!,
                    account: try string(value["account_field"], "\(field).account_field"),
                    organization: try string(value["organization_field"], "\(field).organization_field"),
                    expires: try string(value["expires_field"], "\(field).expires_field"),
                    scopes: try string(value["scopes_field"], "\(field).scopes_field"))
            }
            switch type {
            case "store": sources.append(.store)
            case "git-root":
                let file = try string(value["file"], "\(field).file", required: true)!
                if file.contains("/") || file == "." || file == ".." {
                    throw bad("\(field).file", "must be a file name")
                }
                sources.append(.gitRoot(fileName: file))
            case "raw": sources.append(.raw(try location()))
            case "json": sources.append(.json(try location(), try fields()))
            case "npmrc":
                let registry =
                    try string(value["default_registry"], "\(field).default_registry") ?? "https://registry.npmjs.org/"
                if NPMRC.nerfDart(registry) == nil {
                    throw bad("\(field).default_registry", "must be an http:// or https:// URL")
                }
                sources.append(.npmrc(try location(), defaultRegistry: registry))
            case "keyring":
                func attributes(_ name: String) throws(KeywayError) -> [String: String]? {
                    guard let v = value[name], v != .null else { return nil }
                    guard case .object(let members) = v, !members.isEmpty else {
                        throw bad("\(field).\(name)", "must be a non-empty object of attribute names and values")
                    }
                    var result: [String: String] = [:]
                    for (attribute, member) in members {
                        guard case .string(let text) = member, !attribute.isEmpty else {
                            throw bad(
                                fieldName(attribute, under: "\(field).\(name)"), "must be a string (and named)")
                        }
                        result[attribute] = text
                    }
                    return result
                }
                let own = try attributes("attributes")
                let others = try attributes("profile_attributes")
                if own == nil && others == nil {
                    throw bad("\(field)", "needs attributes, profile_attributes or both")
                }
                if own?.values.contains(where: { $0.contains("{profile}") }) == true {
                    throw bad("\(field).attributes", "must not name {profile} (that is profile_attributes)")
                }
                if let others, !others.values.contains(where: { $0.contains("{profile}") }) {
                    throw bad("\(field).profile_attributes", "must name {profile}")
                }
                let hostEnv = try strings(value["host_env"], "\(field).host_env")
                for (i, v) in hostEnv.enumerated() where !isVariableName(v) {
                    throw bad("\(field).host_env[\(i)]", "is not a valid environment variable name")
                }
                let defaultHost = try string(value["default_host"], "\(field).default_host")
                if defaultHost == nil,
                    (Array((own ?? [:]).values) + Array((others ?? [:]).values)).contains(where: {
                        $0.contains("{host}")
                    })
                {
                    throw bad("\(field).default_host", "is missing ({host} is used)")
                }
                sources.append(
                    .keyring(
                        AppSpec.KeyringItem(
                            attributes: own, profileAttributes: others, hostVariables: hostEnv,
                            defaultHost: defaultHost)))
            case "yaml", "ini", "toml":
                let format = AppSpec.DocumentFormat(rawValue: type)!
                func names(_ name: String, required: Bool = false) throws(KeywayError) -> [String]? {
                    guard let v = value[name], v != .null else {
                        if required { throw bad("\(field).\(name)", "is missing (use [] for the top level)") }
                        return nil
                    }
                    return try strings(v, "\(field).\(name)")
                }
                let entry = try names("entry", required: true)!
                let profileEntry = try names("profile_entry")
                let activeProfile = try names("active_profile")
                if activeProfile != nil && profileEntry == nil {
                    throw bad("\(field).active_profile", "needs a profile_entry")
                }
                if let activeProfile, activeProfile.isEmpty {
                    throw bad("\(field).active_profile", "must not be empty")
                }
                let hostEnv = try strings(value["host_env"], "\(field).host_env")
                for (i, v) in hostEnv.enumerated() where !isVariableName(v) {
                    throw bad("\(field).host_env[\(i)]", "is not a valid environment variable name")
                }
                let defaultHost = try string(value["default_host"], "\(field).default_host")
                let fieldNames = try fields()
                let profileKey = try string(value["profile_key_field"], "\(field).profile_key_field")
                if profileKey != nil && profileEntry == nil {
                    throw bad("\(field).profile_key_field", "needs a profile_entry")
                }
                if profileKey?.isEmpty == true { throw bad("\(field).profile_key_field", "must not be empty") }
                let templates =
                    entry + (profileEntry ?? []) + [profileKey].compactMap { $0 }
                    + [
                        fieldNames.key, fieldNames.account, fieldNames.organization, fieldNames.expires,
                        fieldNames.scopes,
                    ].compactMap { $0 }
                if templates.contains(where: { $0.contains("{host}") }) && defaultHost == nil {
                    throw bad("\(field).default_host", "is missing ({host} is used)")
                }
                if let profileEntry, !profileEntry.contains(where: { $0.contains("{profile}") }),
                    !(profileKey ?? fieldNames.key).contains("{profile}")
                {
                    throw bad("\(field).profile_entry", "must name {profile} (or its key field must)")
                }
                if format != .yaml {
                    for (name, path) in [("entry", entry), ("profile_entry", profileEntry ?? [])] where path.count > 1 {
                        throw bad(
                            "\(field).\(name)",
                            "names at most one \(format == .ini ? "section" : "table") (\(type) files have one level)")
                    }
                }
                sources.append(
                    .document(
                        format, try location(),
                        AppSpec.DocumentPath(
                            entry: entry, profileEntry: profileEntry, activeProfile: activeProfile,
                            hostVariables: hostEnv, defaultHost: defaultHost, fields: fieldNames,
                            profileKeyField: profileKey)))
            default:
                let profiles = try string(value["profiles_field"], "\(field).profiles_field") ?? "profiles"
                sources.append(.yamlProfiles(try location(), profilesField: profiles, try fields()))
            }
        }
        let stores = sources.filter { $0 == .store }.count
        if stores != 1 {
            throw bad(
                "\"sources\"", "must contain exactly one {\"type\": \"store\"} (Keyway's own store), found \(stores)")
        }

        var kinds: [AppSpec.TokenKind] = []
        if let kindValue = root["token_kinds"], kindValue != .null {
            guard case .array(let items) = kindValue else { throw bad("\"token_kinds\"", "must be an array") }
            for (i, item) in items.enumerated() {
                kinds.append(
                    AppSpec.TokenKind(
                        prefix: try string(item["prefix"], "token_kinds[\(i)].prefix", required: true)!,
                        name: try string(item["name"], "token_kinds[\(i)].name", required: true)!,
                        warning: try string(item["warning"], "token_kinds[\(i)].warning")))
            }
        }
        var rotate = 90
        if let value = root["rotate_after_days"], value != .null {
            guard let days = value.intValue, days > 0 else {
                throw bad("\"rotate_after_days\"", "must be a positive whole number")
            }
            rotate = days
        }
        return AppSpec(
            name: name, environmentVariables: env, sources: sources,
            requiredPrefixes: try strings(root["required_prefixes"], "\"required_prefixes\""),
            expectedPrefixes: try strings(root["expected_prefixes"], "\"expected_prefixes\""),
            prefixMessage: try string(root["prefix_message"], "\"prefix_message\""), tokenKinds: kinds,
            notFoundMessage: try string(root["not_found"], "\"not_found\"") ?? AppSpec.defaultNotFoundMessage,
            rotateAfterDays: rotate)
    }

    /// Whether `name` is a portable environment variable name: letters, digits and `_`, not starting with a digit.
    public static func isVariableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy {
            ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_"
        }
    }
}

extension AppSpec {
    /// The spec as JSON, in the format `AppSpecDecoder` reads (used by `keyway apps --json`).
    package func json() -> JSON {
        var members: [(String, JSON)] = [
            ("name", .string(name)),
            ("env", .array(environmentVariables.map { .string($0) })),
            ("sources", .array(sources.map { $0.json() })),
        ]
        if !requiredPrefixes.isEmpty {
            members.append(("required_prefixes", .array(requiredPrefixes.map { .string($0) })))
        }
        if !expectedPrefixes.isEmpty {
            members.append(("expected_prefixes", .array(expectedPrefixes.map { .string($0) })))
        }
        if let prefixMessage { members.append(("prefix_message", .string(prefixMessage))) }
        if !tokenKinds.isEmpty {
            members.append(
                (
                    "token_kinds",
                    .array(
                        tokenKinds.map { kind in
                            .object(
                                [("prefix", .string(kind.prefix)), ("name", .string(kind.name))]
                                    + (kind.warning.map { [("warning", JSON.string($0))] } ?? []))
                        })
                ))
        }
        members.append(("not_found", .string(notFoundMessage)))
        members.append(("rotate_after_days", .int(rotateAfterDays)))
        return .object(members)
    }
}

extension AppSpec.Source {
    func json() -> JSON {
        var members: [(String, JSON)] = [("type", .string(typeName))]
        func add(_ location: AppSpec.FileLocation) {
            members.append(("path", .string(location.path)))
            if let v = location.directoryVariable { members.append(("dir_env", .string(v))) }
            if let v = location.fileVariable { members.append(("file_env", .string(v))) }
            if let v = location.configHomeVariable { members.append(("config_home_env", .string(v))) }
        }
        func names(_ list: [String]) -> JSON { .array(list.map { .string($0) }) }
        func add(_ fields: AppSpec.FieldNames) {
            members.append(("key_field", .string(fields.key)))
            for (name, value) in [
                ("account_field", fields.account), ("organization_field", fields.organization),
                ("expires_field", fields.expires), ("scopes_field", fields.scopes),
            ] {
                if let value { members.append((name, .string(value))) }
            }
        }
        switch self {
        case .json(let location, let fields):
            add(location)
            add(fields)
        case .raw(let location): add(location)
        case .yamlProfiles(let location, let profilesField, let fields):
            add(location)
            members.append(("profiles_field", .string(profilesField)))
            add(fields)
        case .gitRoot(let file): members.append(("file", .string(file)))
        case .document(_, let location, let path):
            add(location)
            members.append(("entry", names(path.entry)))
            if let p = path.profileEntry { members.append(("profile_entry", names(p))) }
            if let p = path.activeProfile { members.append(("active_profile", names(p))) }
            if !path.hostVariables.isEmpty { members.append(("host_env", names(path.hostVariables))) }
            if let h = path.defaultHost { members.append(("default_host", .string(h))) }
            add(path.fields)
            if let k = path.profileKeyField { members.append(("profile_key_field", .string(k))) }
        case .npmrc(let location, let registry):
            add(location)
            members.append(("default_registry", .string(registry)))
        case .keyring(let item):
            func object(_ attributes: [String: String]) -> JSON {
                .object(attributes.sorted { $0.key < $1.key }.map { ($0.key, JSON.string($0.value)) })
            }
            if let a = item.attributes { members.append(("attributes", object(a))) }
            if let a = item.profileAttributes { members.append(("profile_attributes", object(a))) }
            if !item.hostVariables.isEmpty { members.append(("host_env", names(item.hostVariables))) }
            if let h = item.defaultHost { members.append(("default_host", .string(h))) }
        case .store: break
        }
        return .object(members)
    }
}
