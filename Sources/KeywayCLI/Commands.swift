import ArgumentParser
import Glibc
import Keyway

@main
struct KeywayCommand: ParsableCommand {
    static func main() {
        ProcessStart.execIgnoringSIGCHLDIfAsked()
        ProcessStart.begin()
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let problem = invalidUTF8Argument() {
            printError("Error: \(problem)")
            exitProcess(ExitStatus.failure)
        }
        if DockerCredential.invokedAsHelper { exitProcess(DockerCredential.serve(arguments)) }
        if let status = GitCredential.fastPath(arguments) { exitProcess(status) }
        if let fast = FastGet(arguments) { exitProcess(fast.run()) }
        if let fast = FastRun(arguments) { exitProcess(fast.run()) }
        if arguments.first == "help", let error = unknownHelpTopic(Array(arguments.dropFirst())) {
            printError("Error: \(error)")
            printError("See 'keyway --help' for the commands.")
            exitProcess(64)  // EX_USAGE, as for any other usage error
        }
        // ArgumentParser's `main`, with its error messages redacted: they quote what was typed, which may be a key.
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            let status = exitCode(for: error)
            if status == .success { exit(withError: error) }  // --help, --version
            let message = ParserErrors.redacted(fullMessage(for: error), arguments: arguments)
            let lines = message.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            for line in lines where !(line.isEmpty && line == lines.last) { printError(line) }
            if status.rawValue == 64, wantsJSON(arguments) {
                // A JSON reader gets an object for a usage error too, as `guarded(json:)` gives for the others.
                let first = lines.first ?? ""
                let text = first.hasPrefix("Error: ") ? String(first.dropFirst("Error: ".count)) : first
                try? output(
                    JSON.object([("error", .object([("code", .string("usage")), ("message", .string(text))]))])
                        .serialized())
            }
            exitProcess(status.rawValue)
        }
    }

    /// Whether the command line asks for JSON output (`--json`, `--format json`), before any `--`.
    static func wantsJSON(_ arguments: [String]) -> Bool {
        let options = arguments.prefix { $0 != "--" }
        return options.contains("--json") || options.contains("--format=json")
            || zip(options, options.dropFirst()).contains { $0 == "--format" && $1 == "json" }
    }

    /// Why the command line cannot be used as given, when one of Keyway's own arguments (before `--`) is not valid
    /// UTF-8: Swift's `CommandLine.arguments` repairs such bytes with U+FFFD, which would make `--api-key` a different
    /// key (or `--key-file` a different file). Names the option, never the value; nil when every argument is valid.
    static func invalidUTF8Argument() -> String? {
        let raw = Sys.rawArguments()
        for (i, argument) in raw.enumerated() {
            if argument == Array("--".utf8) { return nil }  // the command `run` starts, with its own arguments
            guard argument.contains(where: { $0 >= 0x80 }), String(validating: argument, as: UTF8.self) == nil else {
                continue
            }
            let apiKey = Array("--api-key".utf8)
            if argument.starts(with: apiKey + [UInt8(ascii: "=")]) || (i > 0 && raw[i - 1] == apiKey) {
                return "The key given with --api-key is not valid UTF-8."
            }
            if let equals = argument.firstIndex(of: UInt8(ascii: "=")),
                case let name = String(decoding: argument[..<equals], as: UTF8.self), ParserErrors.isOptionName(name)
            {
                return "The value given with \(name) is not valid UTF-8."
            }
            if i > 0, let name = String(validating: raw[i - 1], as: UTF8.self), ParserErrors.isOptionName(name) {
                return "The value given with \(name) is not valid UTF-8."
            }
            return "Argument \(i + 1) is not valid UTF-8."
        }
        return nil
    }

    /// Why `keyway help TOPIC...` names no command (ArgumentParser would print the top-level help and exit 0), or
    /// nil when it does. Options are left to ArgumentParser.
    static func unknownHelpTopic(_ topic: [String]) -> String? {
        var command: any ParsableCommand.Type = KeywayCommand.self
        var path = "keyway"
        for name in topic where !name.hasPrefix("-") {
            guard let sub = command.configuration.subcommands.first(where: { $0._commandName == name }) else {
                return
                    "\(APIKeyRules.isShowableName(name) ? "'\(name)'" : APIKeyRules.notShown) is not a command of \(path)."
            }
            command = sub
            path += " " + name
        }
        return nil
    }

    static let configuration = CommandConfiguration(
        commandName: "keyway",
        abstract: "One vault for every command-line tool's API keys.",
        discussion: """
            Exit status: 0 success; 1 not found, or a check failed (an expired credential); 2 any other error \
            (storage, permissions, malformed file, invalid input); 64 command-line usage error.
            """,
        version: "0.1.0",
        subcommands: [
            Login.self, Logout.self, Get.self, Status.self, List.self, Resolve.self, Whoami.self, Run.self, Inject.self,
            SystemdUnit.self,
            Import.self, Apps.self, Vault.self, Backends.self, Migrate.self, LeakCheck.self, GitCredential.self,
            DockerCredential.self,
        ]
    )
}

struct Login: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Store an API key.",
        discussion: """
            Without --api-key the key is read from standard input when it is not a terminal (one trailing newline \
            removed), else prompted for without echo. Note that a key given with --api-key can be seen by other \
            processes and lands in your shell history.
            """)

    @Argument(help: "The app the key belongs to (e.g. reflex).") var app: String
    @OptionGroup var profile: ProfileOption
    @Option(help: "The API key (prefer standard input or the prompt).") var apiKey: String?
    @OptionGroup var store: StoreFlags
    @Option(help: "The account the key belongs to.") var account: String?
    @Option(help: "The organization the key belongs to.") var org: String?
    @Option(help: "Comma-separated scopes.") var scopes: String?
    @Option(help: "Expiry date, YYYY-MM-DD.") var expires: String?

    func validate() throws {
        if let expires, Day(parsing: expires) == nil {
            let given = APIKeyRules.isQuotable(expires) ? " (got '\(expires)')" : ""
            throw ValidationError("--expires must be a real date written YYYY-MM-DD\(given).")
        }
    }

    func run() throws {
        try guarded {
            let context = try Context(store)
            let id = CredentialID(app: app, profile: profile.resolved(context.environment))
            try id.validate()
            context.warnIfUnknownApp(app)
            let key: String
            if let apiKey {
                key = apiKey
            } else if !Sys.isTerminal(0) {
                key = try KeyInput.fromStandardInput()
            } else {
                key = try KeyInput.fromTerminal(prompt: "API key for \(id): ")
            }
            let secret = Secret(key)
            try validateAPIKey(secret)
            let spec = context.catalog.spec(for: app)
            if let warning = try spec.checkPrefix(secret) { context.warnings.handle(warning) }
            spec.storingWarnings(secret, expires: expires.flatMap(Day.init(parsing:))).forEach(context.warnings.handle)
            let backend = try context.store()
            let scopeList = scopes.map {
                $0.split(separator: ",").map { $0.trimmingSpaces() }.filter { !$0.isEmpty }
            }
            try backend.logIn(
                id, secret: secret,
                details: LoginDetails(
                    account: account, organization: org, scopes: scopeList, expires: expires.flatMap(Day.init(parsing:))
                ))
            context.checkStoreForGit(backend)
            var kind = ""
            if let tokenKind = spec.tokenKind(of: key) { kind = " (\(tokenKind.name))" }
            try output("Stored the API key\(kind) for \(id) in the \(backend.backendName) store: \(backend.location)\n")
            context.warnIfStoreDoesNotWin(id, store: backend, stored: secret)
            return ExitStatus.success
        }
    }
}

struct Logout: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Remove a stored API key (one profile, or --all).")

    @Argument(help: "The app.") var app: String
    @OptionGroup var profile: ProfileOption
    @Flag(help: "Remove every profile of the app.") var all = false
    @OptionGroup var store: StoreFlags

    func validate() throws {
        if all, profile.profile != nil { throw ValidationError("--all and --profile cannot be used together.") }
    }

    func run() throws {
        try guarded {
            let context = try Context(store)
            context.warnIfUnknownApp(app)
            let backend = try context.store()
            if all {
                let removed = try backend.deleteAll(app: app)
                if removed.isEmpty {
                    printError(
                        "No stored credential for \(APIKeyRules.shownName(app)) in the \(backend.backendName) store.")
                    context.warnIfStoreDoesNotWin(
                        CredentialID(app: app, profile: profile.resolved(context.environment)), store: backend,
                        stored: nil)
                    return ExitStatus.notFound
                }
                let names = removed.map { APIKeyRules.shownName($0.profile) }.joined(separator: ", ")
                try output(
                    "Removed \(removed.count) profile\(removed.count == 1 ? "" : "s") of \(APIKeyRules.shownName(app)): "
                        + "\(names).\n")
                for id in removed { context.warnIfStoreDoesNotWin(id, store: backend, stored: nil) }
                return ExitStatus.success
            }
            let id = CredentialID(app: app, profile: profile.resolved(context.environment))
            try id.validate()
            guard try backend.delete(id) else {
                printError("No stored credential for \(id) in the \(backend.backendName) store.")
                context.warnIfStoreDoesNotWin(id, store: backend, stored: nil)
                return ExitStatus.notFound
            }
            try output("Removed the API key for \(id) from the \(backend.backendName) store.\n")
            context.warnIfStoreDoesNotWin(id, store: backend, stored: nil)
            return ExitStatus.success
        }
    }
}

struct Get: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print an app's API key.",
        discussion: """
            Resolution order: --api-key, then --key-file, then the app's environment variables (<APP>_API_KEY for \
            an app without a spec), then the app's own credentials files and Keyway's store, in the order its spec \
            gives (see `keyway apps`). Prints the key and a newline on standard output and nothing else.
            """)

    @Argument(help: "The app.") var app: String
    @OptionGroup var profile: ProfileOption
    @OptionGroup var keys: KeyFlags
    @OptionGroup var store: StoreFlags

    func run() throws {
        try guarded {
            try Self.execute(
                app: app, profile: profile.profile, apiKey: keys.apiKey, keyFile: keys.keyFile, backend: store.backend,
                strict: store.strict)
        }
    }

    /// The command's work, shared with the fast path that skips ArgumentParser (`FastGet`).
    static func execute(
        app: String, profile: String?, apiKey: String?, keyFile: String?, backend: String?, strict: Bool
    ) throws(KeywayError) -> Int32 {
        let context = try Context(backend: backend, strict: strict)
        let resolution = try context.resolve(app, profile: profile, apiKey: apiKey, keyFile: keyFile)
        guard let key = resolution.key else { return context.notFound(resolution) }
        try outputKey(key.secret.reveal() + "\n")
        return ExitStatus.success
    }
}

/// `keyway get` is run once per key by scripts and tools, so its start-up counts: a plain `get` command line is
/// recognised here and run without building ArgumentParser's command tree (measured about 2.7 ms per run). Anything
/// else — help, an unknown or repeated option, `--api-key` with `--key-file` — goes to ArgumentParser, which gives
/// the usual messages; both paths run `Get.execute`, and the CLI tests run through this one.
struct FastGet {
    var app: String?
    var profile: String?
    var apiKey: String?
    var keyFile: String?
    var backend: String?
    var strict = false

    init?(_ arguments: [String]) {
        guard arguments.first == "get" else { return nil }
        var seen: [String] = []  // a few names: an array costs less start-up than a Set
        var index = 1
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--strict" {
                guard !seen.contains(argument) else { return nil }
                seen.append(argument)
                strict = true
                continue
            }
            if !argument.hasPrefix("-") {
                guard app == nil else { return nil }
                app = argument
                continue
            }
            var (name, value) = FastGet.option(argument)
            if name == "-k" { name = "--key-file" }
            guard ["--profile", "--api-key", "--key-file", "--backend"].contains(name), !seen.contains(name) else {
                return nil
            }
            seen.append(name)
            if value == nil {
                guard index < arguments.count else { return nil }
                value = arguments[index]
                index += 1
            }
            switch name {
            case "--profile": profile = value
            case "--api-key": apiKey = value
            case "--key-file": keyFile = value
            default: backend = value
            }
        }
        guard app != nil, apiKey == nil || keyFile == nil else { return nil }
    }

    /// An option as typed: `--name=value` split at its first `=`, anything else the name alone.
    static func option(_ argument: String) -> (name: String, value: String?) {
        guard argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") else { return (argument, nil) }
        return (String(argument[..<equals]), String(argument[argument.index(after: equals)...]))
    }

    func run() -> Int32 {
        do throws(KeywayError) {
            return try Get.execute(
                app: app!, profile: profile, apiKey: apiKey, keyFile: keyFile, backend: backend, strict: strict)
        } catch {
            printError("Error: \(error.message)")
            return ExitStatus.failure
        }
    }
}

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List every stored credential, masked: every copy in every backend, marking the one in use.")

    @Flag(help: "Print one JSON object.") var json = false
    @OptionGroup var store: StoreFlags

    func run() throws {
        try guarded(json: json) {
            let context = try Context(store)
            let backend = try context.store()
            let (copies, notes) = try storedCopies(context.options, app: nil)
            for note in notes { printError("Note: \(note)") }
            // Masked with each app's own prefixes; one spec per app, not per credential.
            var specs: [String: AppSpec] = [:]
            let masked = copies.map { copy in
                let c = copy.credential
                let spec = specs[c.id.app] ?? context.catalog.spec(for: c.id.app)
                specs[c.id.app] = spec
                return spec.masked(c.secret)
            }
            if json {
                try output(
                    JSON.object([
                        ("backend", .string(backend.backendName)),
                        ("location", .string(backend.location)),
                        ("credentials", .array(zip(copies, masked).map { Report.storedFields($0, masked: $1) })),
                    ]).serialized())
                return ExitStatus.success
            }
            if copies.isEmpty {
                try output("No credentials stored in the \(backend.backendName) store (\(backend.location)).\n")
                return ExitStatus.success
            }
            let rows = zip(copies, masked).map { copy, masked in
                let c = copy.credential
                return [
                    c.id.app, c.id.profile, masked, c.account ?? "", c.expires?.description ?? "", copy.backend,
                    copy.inUse ? "yes" : "no",
                ]
            }
            try output(
                Report.table(header: ["APP", "PROFILE", "KEY", "ACCOUNT", "EXPIRES", "BACKEND", "IN USE"], rows: rows))
            return ExitStatus.success
        }
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        var s = self
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return String(s)
    }
}
