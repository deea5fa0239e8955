import ArgumentParser
import Glibc
import Keyway

struct Resolve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Explain how an app's key is resolved: every layer in order, what it holds, which one wins.",
        discussion: "Exits 0 when a key is found, 1 when none is, 2 when a layer cannot be read.")

    @Argument(help: "The app.") var app: String
    @OptionGroup var profile: ProfileOption
    @OptionGroup var keys: KeyFlags
    @Flag(help: "Print one JSON object.") var json = false
    @OptionGroup var store: StoreFlags

    func run() throws {
        try guarded(json: json) {
            let context = try Context(store)
            let resolution = try context.resolve(app, profile, keys, explain: true)
            let warnings = context.warnings.warnings
            try output(json ? Self.json(resolution, warnings: warnings).serialized() : Self.text(resolution))
            if let error = resolution.error {
                printError("Error: \(error.message)")
                return ExitStatus.failure
            }
            if resolution.key == nil { return context.notFound(resolution) }
            return ExitStatus.success
        }
    }

    static func text(_ r: Resolution) -> String {
        var lines = ["\(r.id)"]
        for (i, layer) in r.layers.enumerated() {
            var line = "  \(i + 1). \(layer.kind.rawValue) \(layer.name): \(layer.status.rawValue)"
            if let masked = layer.masked { line += " \(masked)" }
            line += " (\(layer.detail))"
            lines.append(line)
        }
        if let key = r.key {
            var result = "Using \(r.masked ?? "") from the \(key.source)"
            if let kind = r.keyKind { result += " [\(kind.name)]" }
            lines.append(result + ".")
        } else if r.error == nil {
            lines.append("No key found.")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func json(_ r: Resolution, warnings: [KeywayWarning]) -> JSON {
        .object([
            ("app", .string(APIKeyRules.shownName(r.id.app))),
            ("profile", .string(APIKeyRules.shownName(r.id.profile))),
            ("found", .bool(r.key != nil)),
            ("source", r.key.map { sourceJSON($0.source) } ?? .null),
            ("masked", .optional(r.masked)),
            ("key_kind", .optional(r.keyKind?.name)),
            ("account", .optional(r.key?.account)),
            ("organization", .optional(r.key?.organization)),
            ("expires", .optional(r.key?.expires?.description)),
            ("warnings", .array(warnings.map(Report.json))),
            ("error", r.error.map(Report.json) ?? .null),
            (
                "layers",
                .array(
                    r.layers.map { layer in
                        .object([
                            ("kind", .string(layer.kind.rawValue)),
                            ("name", .string(layer.name)),
                            ("status", .string(layer.status.rawValue)),
                            ("masked", .optional(layer.masked)),
                            ("detail", .string(layer.detail)),
                        ])
                    })
            ),
        ])
    }

    static func sourceJSON(_ source: KeySource) -> JSON {
        var members: [(String, JSON)] = [("kind", .string(source.kind)), ("name", .string(source.name))]
        if case .store(_, let location) = source { members.append(("location", .string(location))) }
        return .object(members)
    }
}

struct Whoami: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the account and organization recorded with the key in use.")

    @Argument(help: "The app.") var app: String
    @OptionGroup var profile: ProfileOption
    @OptionGroup var keys: KeyFlags
    @Flag(help: "Print one JSON object.") var json = false
    @OptionGroup var store: StoreFlags

    func run() throws {
        try guarded(json: json) {
            let context = try Context(store)
            let resolution = try context.resolve(app, profile, keys)
            guard let key = resolution.key else {
                if json {
                    try output(
                        JSON.object([
                            ("app", .string(APIKeyRules.shownName(resolution.id.app))),
                            ("profile", .string(APIKeyRules.shownName(resolution.id.profile))),
                            ("found", .bool(false)),
                            (
                                "error",
                                .object([
                                    ("code", .string("not-found")),
                                    ("message", .string(resolution.spec.notFound(resolution.id))),
                                ])
                            ),
                        ]).serialized())
                }
                return context.notFound(resolution)
            }
            let masked = resolution.masked ?? ""
            if json {
                try output(
                    JSON.object([
                        ("app", .string(APIKeyRules.shownName(resolution.id.app))),
                        ("profile", .string(APIKeyRules.shownName(resolution.id.profile))),
                        ("account", .optional(key.account)),
                        ("organization", .optional(key.organization)),
                        ("masked", .string(masked)),
                        ("key_kind", .optional(resolution.keyKind?.name)),
                        ("source", Resolve.sourceJSON(key.source)),
                        ("found", .bool(true)),
                        ("error", .null),
                    ]).serialized())
                return ExitStatus.success
            }
            if key.account == nil && key.organization == nil {
                try output(
                    "No account or organization was recorded with this key (\(masked), from the \(key.source)).\n"
                        + "Record them with: \(resolution.id.command("login")) --account ACCOUNT --org ORGANIZATION\n")
                return ExitStatus.success
            }
            var text = "Account:      \(key.account ?? "(not recorded)")\n"
            text += "Organization: \(key.organization ?? "(not recorded)")\n"
            text += "Key:          \(masked) (from the \(key.source))\n"
            try output(text)
            return ExitStatus.success
        }
    }
}

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy a key from the app's own credentials files into Keyway's store.",
        discussion: """
            The key is written, read back and compared before anything else happens; with --remove the original \
            file is then deleted (a per-profile file only when it holds no other profile).
            """)

    @Argument(help: "The app.") var app: String
    @OptionGroup var profile: ProfileOption
    @Flag(help: "Delete the plaintext original once the store holds the key.") var remove = false
    @OptionGroup var store: StoreFlags

    func run() throws {
        if app == "git" || app == "docker" {  // the credential helpers' stores (CredentialHelperCommands.swift)
            return try guarded { () throws(KeywayError) in try HelperImport.run(app, remove: remove, flags: store) }
        }
        try guarded {
            let context = try Context(store)
            context.warnIfUnknownApp(app)
            let backend = try context.store()
            let engine = context.engine(app, store: backend)
            let id = CredentialID(app: app, profile: profile.resolved(context.environment))
            let found: ToolFileKey
            switch try ToolFileKey.find(profile: id.profile, engine: engine) {
            case .found(let key):
                found = key
            case .inKeyring(let item):
                printError(
                    "Error: Not imported: the key for \(id) is in \(APIKeyRules.shownName(app))'s own keyring item "
                        + "\(item), which Keyway reads where it is (keyway get \(APIKeyRules.shownName(app))), and "
                        + "which \(APIKeyRules.shownName(app)) keeps using. A copy in Keyway's store would change "
                        + "nothing; to move the key out of the keyring, log in with the tool itself.")
                return ExitStatus.notFound
            case .notFound(let searched):
                let places = searched.joined(separator: ", ")
                printError(
                    "No key for \(id) in \(APIKeyRules.shownName(app))'s own files"
                        + (places.isEmpty ? " (its spec names none)." : " (looked in: \(places))."))
                return ExitStatus.notFound
            }
            found.warnings.forEach(context.warnings.handle)
            let path = found.path
            // What --remove may delete later: the file as it is right after the read, never through a symbolic link.
            let state = remove ? try found.fileState(strict: context.options.strict) : nil
            // A different key already in use from the store is never replaced by an import: say where each is.
            if case .conflict(let existing) = try found.copy(into: backend, warn: context.warnings.handler) {
                let mask = engine.spec.masked
                printError(
                    "Error: Not imported: the \(backend.backendName) store (\(backend.location)) already holds a "
                        + "different key for \(id) (\(mask(existing.secret))) than \(path) (\(mask(found.key.secret))); "
                        + "importing would replace it. To keep the stored key, remove the one in \(path) by hand; to "
                        + "import the file's key, first run keyway logout \(app) --profile \(id.profile) --backend "
                        + "\(backend.backendName), then keyway import \(app) again.")
                return ExitStatus.notFound
            }
            context.checkStoreForGit(backend)
            try output(
                "Imported the key for \(id) from \(path) into the \(backend.backendName) store: \(backend.location)\n")
            guard let state else { return ExitStatus.success }
            try found.removeFile(state, storedIn: backend)
            try output("Removed \(path).\n")
            return ExitStatus.success
        }
    }
}

struct Apps: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the app specs in force and where each came from.",
        discussion: "Built-in specs, overridden or extended by JSON files in <config dir>/apps/.")

    @Flag(help: "Print one JSON object.") var json = false
    @OptionGroup var store: StoreFlags

    func run() throws {
        try guarded(json: json) {
            let context = try Context(store)
            let entries = context.catalog.entries
            if json {
                try output(
                    JSON.object([
                        ("directory", .string(context.catalog.directory)),
                        (
                            "apps",
                            .array(
                                entries.map { entry in
                                    guard case .object(let members) = entry.spec.json() else { return .null }
                                    return .object(
                                        [
                                            ("origin", .string(entry.origin)),
                                            ("overrides_built_in", .bool(entry.overridesBuiltIn)),
                                        ]
                                            + members)
                                })
                        ),
                    ]).serialized())
                return ExitStatus.success
            }
            var text = ""
            for entry in entries {
                let spec = entry.spec
                text +=
                    "\(spec.name)  (\(entry.origin)\(entry.overridesBuiltIn ? ", overrides the built-in spec" : ""))\n"
                let env = spec.environmentVariables
                text +=
                    "  env:      \(env.isEmpty ? "(none)" : env.enumerated().map { $0 == 0 ? $1 : "\($1) (legacy)" }.joined(separator: ", "))\n"
                for (i, source) in spec.sources.enumerated() {
                    text += "  \(i == 0 ? "sources:" : "         ") \(Self.describe(source, context.environment))\n"
                }
                if !spec.requiredPrefixes.isEmpty {
                    text += "  requires: \(spec.requiredPrefixes.joined(separator: ", "))\n"
                }
                if !spec.expectedPrefixes.isEmpty {
                    text += "  expects:  \(spec.expectedPrefixes.joined(separator: ", "))\n"
                }
                for kind in spec.tokenKinds { text += "  kind:     \(kind.prefix) = \(kind.name)\n" }
            }
            text +=
                "Any other app: <APP>_API_KEY, then Keyway's store. Add specs as JSON files in \(context.catalog.directory).\n"
            try output(text)
            return ExitStatus.success
        }
    }

    static func describe(_ source: AppSpec.Source, _ environment: Environment) -> String {
        func location(_ l: AppSpec.FileLocation) -> String {
            var text = l.path
            var overrides: [String] = []
            if let v = l.fileVariable { overrides.append("$\(v)") }
            if let v = l.directoryVariable { overrides.append("$\(v)/\(ProtectedFile.baseName(l.path))") }
            if let v = l.configHomeVariable { overrides.append("$\(v)\(l.path.dropFirst(9))") }
            if !overrides.isEmpty { text += " (overridden by \(overrides.joined(separator: ", then ")))" }
            return text
        }
        switch source {
        case .json(let l, let f): return "json \(location(l)), key in \"\(f.key)\""
        case .raw(let l): return "key file \(location(l))"
        case .yamlProfiles(let l, let p, let f): return "yaml \(location(l)), key in \(p).<profile>.\(f.key)"
        case .gitRoot(let name): return "\(name) at the root of the current git repository"
        case .document(let format, let l, let d):
            func at(_ names: [String], _ key: String) -> String { (names + [key]).joined(separator: ".") }
            var text = "\(format.rawValue) \(location(l)), key in \(at(d.entry, d.fields.key))"
            if let p = d.profileEntry { text += " (other profiles: \(at(p, d.profileKeyField ?? d.fields.key)))" }
            if let h = d.defaultHost {
                let from = d.hostVariables.map { "$\($0)" } + [h]
                text += ", {host} = \(from.joined(separator: ", else "))"
            }
            return text
        case .npmrc(let l, let registry):
            return "npmrc \(location(l)), key in //REGISTRY/:_authToken (REGISTRY: $npm_config_registry, else the "
                + "file's registry, else \(registry))"
        case .keyring(let item):
            func shown(_ a: [String: String]) -> String {
                a.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: " ")
            }
            var parts: [String] = []
            if let a = item.attributes { parts.append("keyring item \(shown(a))") }
            if let a = item.profileAttributes {
                parts.append((parts.isEmpty ? "keyring item " : "other profiles: ") + shown(a))
            }
            var text = parts.count == 2 ? "\(parts[0]) (\(parts[1]))" : parts.joined()
            if item.attributes == nil { text += " (profiles other than the default)" }
            if let h = item.defaultHost {
                let from = item.hostVariables.map { "$\($0)" } + [h]
                text += ", {host} = \(from.joined(separator: ", else "))"
            }
            return text
        case .store: return "Keyway's store"
        }
    }
}
