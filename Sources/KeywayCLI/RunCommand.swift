import ArgumentParser
import Glibc
import Keyway

/// One problem found while resolving what `keyway run` or `keyway inject` needs: the message (printed after
/// `Error: ` unless it starts with it) and the exit status it stands for.
struct ResolutionProblem {
    let message: String
    let status: Int32
}

/// Resolves apps and `keyway://` references for `run` and `inject`, opening the store once and resolving each app and
/// profile once.
final class ReferenceResolver {
    let context: Context
    let profile: String?
    private var opened: (any CredentialStore)?
    private var cache: [CredentialID: Resolution] = [:]
    /// Every key resolved, with its app: what masking hides.
    private(set) var secrets: [(app: String, key: Secret)] = []

    init(_ context: Context, profile: String?) {
        self.context = context
        self.profile = profile
    }

    func store() throws(KeywayError) -> any CredentialStore {
        if let opened { return opened }
        let store = try context.store()
        opened = store
        return store
    }

    /// Resolves `app` (with the explicit key flags, for `run APP`); nil with the problem recorded when no key is found.
    func resolve(_ app: String, profile given: String?, apiKey: String? = nil, keyFile: String? = nil)
        throws(KeywayError) -> Resolution
    {
        let id = CredentialID(
            app: app, profile: CredentialID.profile(from: context.environment, given: given ?? profile))
        if apiKey == nil, keyFile == nil, let cached = cache[id] { return cached }
        let resolution = try context.resolve(
            app, profile: id.profile, apiKey: apiKey, keyFile: keyFile, store: try store())
        if apiKey == nil, keyFile == nil { cache[id] = resolution }
        if let key = resolution.key { remember(app, key.secret) }
        return resolution
    }

    func remember(_ app: String, _ key: Secret) {
        if !secrets.contains(where: { $0.key == key }) { secrets.append((app, key)) }
    }

    /// The value `reference` stands for, or the problem, which names `place` (a variable, a template line).
    func value(of reference: KeywayReference, for place: String) -> Result<String, ResolutionProblemError> {
        let resolution: Resolution
        do throws(KeywayError) {
            resolution = try resolve(reference.app, profile: reference.profile)
        } catch {
            return .failure(
                .init(
                    problem: ResolutionProblem(
                        message: "\(place) (\(reference)) cannot be resolved: \(error.message)",
                        status: ExitStatus.failure)))
        }
        guard let key = resolution.key else {
            let notFound = resolution.spec.notFound(resolution.id)
            let text = notFound.hasPrefix("Error: ") ? String(notFound.dropFirst("Error: ".count)) : notFound
            return .failure(
                .init(
                    problem: ResolutionProblem(
                        message: "\(place) (\(reference)) cannot be resolved: no key for \(resolution.id). \(text)",
                        status: ExitStatus.notFound)))
        }
        switch reference.field {
        case .key:
            return .success(key.secret.reveal())
        case .account, .organization:
            let value = reference.field == .account ? key.account : key.organization
            guard let value, !value.isEmpty else {
                return .failure(
                    .init(
                        problem: ResolutionProblem(
                            message:
                                "\(place) (\(reference)) cannot be resolved: no \(reference.field.rawValue) is recorded "
                                + "with the key for \(resolution.id) (record it with keyway login --\(reference.field == .account ? "account" : "org")).",
                            status: ExitStatus.notFound)))
            }
            return .success(value)
        }
    }

    /// The value of a variable that may hold a reference: a reference resolved, anything else as it is.
    func resolveValue(_ text: String, for place: String) -> Result<String, ResolutionProblemError> {
        guard KeywayReference.isReference(text) else { return .success(text) }
        let reference: KeywayReference
        do throws(KeywayError) { reference = try KeywayReference.parse(text) } catch {
            return .failure(
                .init(
                    problem: ResolutionProblem(
                        message: "\(place) holds a reference that cannot be resolved: \(error.message)",
                        status: ExitStatus.failure)))
        }
        return value(of: reference, for: place)
    }
}

struct ResolutionProblemError: Error { let problem: ResolutionProblem }

/// Prints each problem; the status: 2 when any is not a plain not-found, else 1.
func report(_ problems: [ResolutionProblem]) -> Int32 {
    for problem in problems {
        printError(problem.message.hasPrefix("Error: ") ? problem.message : "Error: " + problem.message)
    }
    return problems.contains { $0.status != ExitStatus.notFound } ? ExitStatus.failure : ExitStatus.notFound
}

/// A text file named on the command line (an env file, a template): read whole, at most 16 MiB, `-` for standard
/// input.
func readNamedFile(_ path: String, what: String) throws(KeywayError) -> [UInt8] {
    let bytes: [UInt8]?
    do throws(Errno) {
        let fd = path == "-" ? 0 : try Sys.open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)
        defer { if fd != 0 { Sys.close(fd) } }
        if FileMode.isDirectory(try Sys.fstat(fd)) { throw Errno(EISDIR) }
        bytes = try Sys.readAll(fd, limit: ProtectedFile.defaultSizeLimit)
    } catch {
        throw KeywayError(.io, "Cannot read the \(what) \(path): \(error).", path: path)
    }
    guard let bytes else {
        throw KeywayError(
            .malformedFile,
            "The \(what) \(path) is larger than \(ProtectedFile.describeSize(ProtectedFile.defaultSizeLimit)).",
            path: path)
    }
    return bytes
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a command with apps' keys in its environment.",
        discussion: """
            Each APP's key goes into the app's preferred environment variable (APP=NAME, or --env NAME for a single \
            app, chooses another) of CMD's environment only: never on a command line or on disk. Env files \
            (--env-file) and variables already in the environment may hold keyway://APP[/PROFILE][#field] \
            references, which are resolved; plain values pass through. Nothing runs unless every key and reference \
            resolves. KEYWAY_VAULT_KEY, KEYWAY_VAULT_KEY_FILE, KEYWAY_PASSPHRASE, KEYWAY_NEW_PASSPHRASE and the \
            OpenBao credentials (BAO_TOKEN, VAULT_TOKEN, KEYWAY_OPENBAO_*_FILE) are removed from CMD's environment; with --pristine CMD gets only the injected variables and PATH, HOME, USER, LANG, \
            TERM. Unmasked, keyway becomes CMD (exec), so CMD's exit status is keyway's; CMD gets the core file size \
            limit and the signal dispositions keyway started with.
            """)

    /// The apps, then (after `--`) CMD: ArgumentParser allows no second positional array after the first, so both
    /// come in one and are told apart by the `--` of the command line (`apps`, `command`).
    @Argument(help: ArgumentHelp("APP... [APP=NAME...] -- CMD ARGS...: apps whose keys to inject, then the command."))
    var operands: [String] = []
    @OptionGroup var profile: ProfileOption
    @OptionGroup var keys: KeyFlags
    @Option(help: "The variable to set, with a single app (default: the app's preferred one).") var env: String?
    @Option(
        name: .customLong("env-file"),
        help: "A dotenv file of variables for CMD; keyway:// references in it are resolved (repeatable).")
    var envFiles: [String] = []
    @Flag(help: "Start CMD with only the injected variables and PATH, HOME, USER, LANG, TERM.") var pristine = false
    @Flag(
        inversion: .prefixedNo,
        help: """
            Replace the injected keys (and their base64, base64url, URL-encoded and hex forms) with <keyway:APP> in \
            CMD's output (also KEYWAY_MASK=1/0; default: on when standard output is not a terminal).
            """)
    var mask: Bool?
    @OptionGroup var store: StoreFlags

    /// What follows the first `--` of keyway's own command line.
    var command: [String] {
        let raw = CommandLine.arguments
        guard let terminator = raw.firstIndex(of: "--") else { return [] }
        let after = Array(raw[(terminator + 1)...])
        return operands.count >= after.count && Array(operands.suffix(after.count)) == after ? after : []
    }

    var apps: [String] { Array(operands.dropLast(command.count)) }

    var request: RunRequest {
        RunRequest(
            apps: apps, command: command, profile: profile.profile, apiKey: keys.apiKey, keyFile: keys.keyFile,
            env: env, envFiles: envFiles, pristine: pristine, mask: mask, backend: store.backend, strict: store.strict)
    }

    func validate() throws { try request.validate() }

    func run() throws {
        try guarded { try request.execute() }
    }

    /// This process's environment as it is (the trampoline's exec).
    static func currentEnvironment() -> [UnsafeMutablePointer<CChar>?] { RunRequest.currentEnvironment() }
}

/// What `keyway run` was asked, however its command line was read: by ArgumentParser (`Run`) or, for the plain
/// forms, by `FastRun`, which skips ArgumentParser's start-up (building its command tree costs some 2-3 ms of CPU
/// at every start).
struct RunRequest {
    var apps: [String]
    var command: [String]
    var profile: String?
    var apiKey: String?
    var keyFile: String?
    var env: String?
    var envFiles: [String] = []
    var pristine = false
    var mask: Bool?
    var backend: String?
    var strict = false

    /// An app argument: `APP` or `APP=NAME`.
    static func split(_ argument: String) -> (app: String, variable: String?) {
        guard let equals = argument.firstIndex(of: "=") else { return (argument, nil) }
        return (String(argument[..<equals]), String(argument[argument.index(after: equals)...]))
    }

    func validate() throws(ValidationError) {
        let variableRule = "an environment variable name: letters, digits and _, not starting with a digit"
        if let env, !AppSpecDecoder.isVariableName(env) { throw ValidationError("--env needs \(variableRule).") }
        if env != nil, apps.count != 1 {
            throw ValidationError("--env goes with a single app; with several, write APP=NAME for each.")
        }
        if apiKey != nil || keyFile != nil, apps.count != 1 {
            throw ValidationError("--api-key and --key-file go with a single app.")
        }
        for (index, argument) in apps.enumerated() {
            let (app, variable) = Self.split(argument)
            // `keyway run APP KEY -- CMD` (a forgotten --api-key) must not go on to print "no key for <the key>".
            if index > 0, !APIKeyRules.isShowableName(app) {
                throw ValidationError(
                    "Argument \(index + 1) is not an app name (it may be a key: give a key with --api-key).")
            }
            if app.isEmpty { throw ValidationError("An app argument has no app name before '='.") }
            if let variable, !AppSpecDecoder.isVariableName(variable) {
                throw ValidationError("APP=NAME needs \(variableRule) after '='.")
            }
            if variable != nil, env != nil {
                throw ValidationError("Give the variable with APP=NAME or --env, not both.")
            }
        }
        if command.isEmpty {
            let example = apps.first.map { Self.split($0).app } ?? "APP"
            throw ValidationError("Give the command to run after --, e.g. keyway run \(example) -- \(example) deploy")
        }
    }

    /// What CMD gets: the injected variables, in order (a later one for a name wins), and the keys among them.
    struct Plan {
        var injected: [(name: String, value: String)] = []
        var secrets: [(app: String, key: Secret)] = []
    }

    func plan(_ context: Context) throws(KeywayError) -> Result<Plan, ResolutionProblemError> {
        let resolver = ReferenceResolver(context, profile: profile)
        var plan = Plan()
        var problems: [ResolutionProblem] = []
        for argument in apps {
            let (app, chosen) = Self.split(argument)
            guard let variable = chosen ?? env ?? context.catalog.spec(for: app).primaryVariable else {
                problems.append(
                    ResolutionProblem(
                        message: "\(APIKeyRules.shownName(app)) reads its key from no environment variable; name one "
                            + "with \(apps.count == 1 ? "--env NAME" : "\(APIKeyRules.shownName(app))=NAME").",
                        status: ExitStatus.failure))
                continue
            }
            let resolution = try resolver.resolve(app, profile: nil, apiKey: apiKey, keyFile: keyFile)
            guard let key = resolution.key else {
                problems.append(ResolutionProblem(message: resolution.spec.notFound(resolution.id), status: 1))
                continue
            }
            resolver.remember(app, key.secret)
            plan.injected.append((variable, key.secret.reveal()))
        }
        for file in envFiles {
            let entries: [DotEnv.Entry]
            do throws(KeywayError) { entries = try DotEnv.parse(try readNamedFile(file, what: "env file")) } catch {
                problems.append(ResolutionProblem(message: "\(file): \(error.message)", status: ExitStatus.failure))
                continue
            }
            for entry in entries {
                switch resolver.resolveValue(entry.value, for: "\(entry.name) (\(file) line \(entry.line))") {
                case .success(let value): plan.injected.append((entry.name, value))
                case .failure(let failure): problems.append(failure.problem)
                }
            }
        }
        if !pristine {
            // Inherited variables holding a reference (as op run resolves them), unless an injection replaces them.
            let injected = Set(plan.injected.map(\.name))
            for (name, value) in context.environment.values.sorted(by: { $0.key < $1.key })
            where KeywayReference.isReference(value)
                && childInherits(name, injected: injected, pristine: false)
            {
                switch resolver.resolveValue(value, for: "The environment variable \(name)") {
                case .success(let resolved): plan.injected.append((name, resolved))
                case .failure(let failure): problems.append(failure.problem)
                }
            }
        }
        if !problems.isEmpty {
            return .failure(
                ResolutionProblemError(
                    problem: ResolutionProblem(
                        message: "", status: report(problems))))
        }
        plan.secrets = resolver.secrets
        return .success(plan)
    }

    /// This process's environment entries that CMD inherits (`childInherits`), copied byte for byte (a value that
    /// is not valid UTF-8 stays as it is), then the injected ones: C strings for execve or posix_spawn.
    static func commandEnvironment(_ plan: Plan, pristine: Bool) -> [UnsafeMutablePointer<CChar>?] {
        let names = Set(plan.injected.map(\.name))
        var result: [UnsafeMutablePointer<CChar>?] = []
        for case let current? in currentEnvironment() {
            // Only the name is copied (up to the first `=`), never the value.
            let length = strchr(current, 0x3D).map { $0 - current } ?? strlen(current)
            let name = String(decoding: UnsafeRawBufferPointer(start: current, count: length), as: UTF8.self)
            if childInherits(name, injected: names, pristine: pristine) { result.append(current) }
        }
        var last: [String: String] = [:]
        for (name, value) in plan.injected { last[name] = value }
        var added = Set<String>()
        for (name, _) in plan.injected where added.insert(name).inserted {
            result.append(strdup(name + "=" + last[name]!))
        }
        return result
    }

    /// `--mask`/`--no-mask`, else `KEYWAY_MASK` (1/true/yes/on or 0/false/no/off), else on exactly when standard
    /// output is not a terminal (a CI log, a file, a pipe).
    func shouldMask(_ environment: Environment) -> Bool {
        if let mask { return mask }
        if let value = environment.nonEmpty("KEYWAY_MASK") {
            return environment.flag("KEYWAY_MASK") || !["0", "false", "no", "off"].contains(value.lowercased())
        }
        return !Sys.isTerminal(1)
    }

    /// This process's environment as it is (the trampoline's exec).
    static func currentEnvironment() -> [UnsafeMutablePointer<CChar>?] {
        var result: [UnsafeMutablePointer<CChar>?] = []
        var entry = environ
        while let current = entry.pointee {
            result.append(current)
            entry += 1
        }
        return result
    }

    /// The command's work, shared with the fast path that skips ArgumentParser (`FastRun`): returns only when CMD
    /// was not started (the exit status), else keyway has become CMD, or exits as CMD did.
    func execute() throws(KeywayError) -> Int32 {
        let context = try Context(backend: backend, strict: strict)
        let plan: Plan
        switch try self.plan(context) {
        case .success(let made): plan = made
        case .failure(let failure): return failure.problem.status
        }
        let entries = Self.commandEnvironment(plan, pristine: pristine)
        if shouldMask(context.environment), !plan.secrets.isEmpty {
            return MaskedRun.run(command, environment: entries, secrets: plan.secrets)
        }
        try ProcessStart.restoreForExec()
        // Keyway's own unlock material never reaches CMD: with it, CMD could read every stored key. CMD's
        // environment is built here rather than with unsetenv/setenv, which leave duplicate entries behind.
        // execvp's PATH search, in CMD's environment.
        let error = Subprocess.exec(command, environment: entries)
        printError("Error: Cannot run \(command[0]): \(error).")
        return error == .noEntry ? 127 : 126
    }
}

/// `keyway run`'s plain forms read without ArgumentParser (as `FastGet` reads `get`'s): APP and APP=NAME operands,
/// `--profile`, `--backend`, `--env`, `--env-file` (repeatable), `--pristine`, `--mask` or `--no-mask`, `--strict`,
/// then `--` and CMD. Anything else (a key flag, help, an unknown or repeated option, a value that looks like an
/// option, a request `validate` refuses) is left to ArgumentParser, which reads it as before and gives its own
/// messages: both read the same command line into the same `RunRequest`.
struct FastRun {
    let request: RunRequest

    init?(_ arguments: [String]) {
        guard arguments.first == "run", let terminator = arguments.firstIndex(of: "--") else { return nil }
        var request = RunRequest(apps: [], command: Array(arguments[(terminator + 1)...]))
        var seen: [String] = []  // a few names: an array costs less start-up than a Set
        var index = 1
        while index < terminator {
            let argument = arguments[index]
            index += 1
            if !argument.hasPrefix("-") {
                request.apps.append(argument)
                continue
            }
            let (name, typed) = FastGet.option(argument)
            var value = typed
            if name != "--env-file" {
                guard !seen.contains(name) else { return nil }
                seen.append(name)
            }
            switch name {
            case "--pristine", "--strict", "--mask", "--no-mask":
                guard value == nil else { return nil }
                if name == "--pristine" {
                    request.pristine = true
                } else if name == "--strict" {
                    request.strict = true
                } else {
                    guard request.mask == nil else { return nil }
                    request.mask = name == "--mask"
                }
            case "--profile", "--backend", "--env", "--env-file":
                if value == nil {
                    guard index < terminator, !arguments[index].hasPrefix("-") else { return nil }
                    value = arguments[index]
                    index += 1
                }
                guard let value, !value.isEmpty, !value.hasPrefix("-") else { return nil }
                switch name {
                case "--profile": request.profile = value
                case "--backend": request.backend = value
                case "--env": request.env = value
                default: request.envFiles.append(value)
                }
            default:
                return nil
            }
        }
        do { try request.validate() } catch { return nil }
        self.request = request
    }

    /// Runs CMD (keyway becomes it, or relays its output masked); the exit status when it was not started.
    func run() -> Int32 {
        do throws(KeywayError) {
            return try request.execute()
        } catch {
            printError("Error: \(error.message)")
            return ExitStatus.failure
        }
    }
}
