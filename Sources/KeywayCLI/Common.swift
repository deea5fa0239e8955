import ArgumentParser
import Glibc
import Keyway
import Synchronization

/// Exit statuses, documented in the README.
enum ExitStatus {
    static let success: Int32 = 0
    /// Not found, or a check failed (an expired credential).
    static let notFound: Int32 = 1
    /// Any other error: storage, permissions, a malformed file, invalid input.
    static let failure: Int32 = 2
    // 64 (EX_USAGE): command-line usage error, from ArgumentParser's ValidationError.
}

/// Ends the process with `status`, once anything a store started loading in the background (libcurl) is loaded:
/// every exit of the CLI goes through here, so that no exit tears libraries down under that thread.
func exitProcess(_ status: Int32) -> Never {
    finishBackgroundLoading()
    Glibc.exit(status)
}

/// One line on standard error, unbuffered. Every control character in it (a newline too) is escaped
/// (`TerminalText.escaped`): errors, warnings and notes carry file names, file contents and other programs' messages,
/// which must not move the cursor, retitle the terminal or forge a line.
func printError(_ line: String) {
    try? Sys.writeAll(2, Array((TerminalText.escaped(line) + "\n").utf8))
}

/// Prints each distinct warning once, on stderr.
final class WarningPrinter: Sendable {
    private struct State {
        var seen = Set<String>()
        var warnings: [KeywayWarning] = []
    }
    private let state = Mutex(State())

    /// The distinct warnings printed so far, in order.
    var warnings: [KeywayWarning] { state.withLock { $0.warnings } }

    func handle(_ warning: KeywayWarning) {
        let isNew = state.withLock { state -> Bool in
            guard state.seen.insert(warning.message).inserted else { return false }
            state.warnings.append(warning)
            return true
        }
        // A warning names files and repositories found on the disk (a clone's directory name is anyone's choice):
        // control characters in them are escaped.
        if isNew { printError("Warning: \(warning.message)") }
    }

    var handler: WarningHandler { { [self] warning in self.handle(warning) } }
}

/// Options every command that touches a store shares.
struct StoreFlags: ParsableArguments {
    @Option(help: "Storage backend: auto (default), keyring, encrypted, plaintext or openbao (also $KEYWAY_BACKEND).")
    var backend: String?

    @Flag(help: "Refuse a credentials file that group or others can access, instead of warning (also KEYWAY_STRICT=1).")
    var strict = false
}

/// The explicit key flags shared by get, resolve, whoami and run.
struct KeyFlags: ParsableArguments {
    @Option(help: "An explicit key; wins over everything else.") var apiKey: String?
    @Option(
        name: [.customShort("k"), .long], help: "A file holding the key (like reflow's -k); second only to --api-key.")
    var keyFile: String?

    func validate() throws {
        if apiKey != nil, keyFile != nil { throw ValidationError("--api-key and --key-file cannot be used together.") }
    }
}

struct ProfileOption: ParsableArguments {
    @Option(help: "Profile name (default: $KEYWAY_PROFILE, else 'default').")
    var profile: String?

    func resolved(_ environment: Environment) -> String {
        CredentialID.profile(from: environment, given: profile)
    }

    /// Whether a profile was chosen by flag or environment (for commands that otherwise show every profile).
    func explicit(_ environment: Environment) -> String? {
        CredentialID.explicitProfile(from: environment, given: profile)
    }
}

/// What a command run needs: the environment, the warning printer, the store options and the app specs.
struct Context {
    let environment: Environment
    let warnings = WarningPrinter()
    let options: StoreOptions
    let catalog: AppCatalog

    /// With `checkingDirectories` (the default), Keyway's directories are checked first (`DirectoryChain`): a warning
    /// for each insecure one, in strict mode an error. `leak-check` reports them as findings instead.
    init(_ flags: StoreFlags, checkingDirectories: Bool = true) throws(KeywayError) {
        try self.init(backend: flags.backend, strict: flags.strict, checkingDirectories: checkingDirectories)
    }

    init(backend: String?, strict: Bool, checkingDirectories: Bool = true) throws(KeywayError) {
        environment = Environment.process()
        options = try StoreOptions(
            environment: environment, backend: backend, strict: strict, warn: warnings.handler,
            passphrasePrompt: VaultPrompt.ifTerminalAttached())
        if checkingDirectories {
            try options.paths.checkDirectories(home: environment.home, strict: options.strict, warn: warnings.handler)
        }
        catalog = try AppCatalog.load(configDirectory: options.paths.configDirectory)
    }

    func store() throws(KeywayError) -> any CredentialStore { try openStore(options) }

    /// The resolution engine for `app`, on the store.
    func engine(_ app: String, store: any CredentialStore) -> ResolutionEngine {
        ResolutionEngine(
            spec: catalog.spec(for: app), environment: environment, store: store, workingDirectory: currentDirectory(),
            strict: options.strict, foreignKeyring: StoreKeyringReader(store: store))
    }

    /// Resolves `app` with the flags `get`, `resolve`, `whoami` and `run` share, and prints the warnings.
    func resolve(_ app: String, _ profile: ProfileOption, _ keys: KeyFlags, explain: Bool = false)
        throws(KeywayError) -> Resolution
    {
        try resolve(app, profile: profile.profile, apiKey: keys.apiKey, keyFile: keys.keyFile, explain: explain)
    }

    func resolve(
        _ app: String, profile: String?, apiKey: String?, keyFile: String?, explain: Bool = false,
        store opened: (any CredentialStore)? = nil
    ) throws(KeywayError) -> Resolution {
        warnIfUnknownApp(app)
        let backend: any CredentialStore
        if let opened { backend = opened } else { backend = try store() }
        let resolution = try engine(app, store: backend).resolve(
            profile: CredentialID.profile(from: environment, given: profile), apiKey: apiKey,
            keyFile: keyFile, explain: explain)
        resolution.warnings.forEach(warnings.handle)
        return resolution
    }

    /// Warns about an app name with no spec that is close to one with a spec (`AppCatalog.unknownAppWarning`).
    func warnIfUnknownApp(_ app: String) {
        catalog.unknownAppWarning(for: app).map(warnings.handle)
    }

    /// Prints the app's not-found message; returns the not-found status.
    func notFound(_ resolution: Resolution) -> Int32 {
        printError(resolution.spec.notFound(resolution.id))
        return ExitStatus.notFound
    }

    /// After a `login` or `logout` changed what the store holds for `id` (`stored`: the key now stored, nil after a
    /// logout): warns when another layer or backend's copy is the key in use (`storeOverrideWarning`).
    func warnIfStoreDoesNotWin(_ id: CredentialID, store: any CredentialStore, stored: Secret?) {
        storeOverrideWarning(
            for: id, spec: catalog.spec(for: id.app), store: store, stored: stored, options: options,
            workingDirectory: currentDirectory()
        ).map(warnings.handle)
    }

    /// Warns when the store's file sits in a git work tree that tracks it or would pick it up (after a write).
    func checkStoreForGit(_ store: any CredentialStore) {
        store.gitLeakWarning(environment: environment, workingDirectory: currentDirectory()).map(warnings.handle)
    }
}

/// Runs a command body: a `KeywayError` is printed as `Error: ...` on stderr and exits 2 — with `json` (a command's
/// `--json`), after `{"error": {"code": ..., "message": ...}}` on standard output, so a JSON reader always gets an
/// object; the body's own status is passed through.
func guarded(json: Bool = false, _ body: () throws -> Int32) throws {
    let status: Int32
    do {
        status = try body()
    } catch let error as KeywayError {
        printError("Error: \(error.message)")
        if json { try? output(JSON.object([("error", Report.json(error))]).serialized()) }
        throw ExitCode(ExitStatus.failure)
    }
    if status != ExitStatus.success { throw ExitCode(status) }
}

/// Writes text for people (tables, reports, messages) or JSON to standard output, unbuffered. Its fields come from
/// files, keyrings, app specs and the command line (an account, a profile, a source path), so every control
/// character in it other than the line breaks is escaped (`TerminalText.escaped`): an `ESC ] ... BEL` or CSI sequence
/// in an account name cannot retitle the terminal or clear the screen. JSON output carries none (it escapes them),
/// so it is unchanged. A key is printed with `outputKey`, never through here. A failed write (closed pipe, full
/// disk) is an error, not silence.
func output(_ text: String) throws(KeywayError) {
    try outputKey(TerminalText.escaped(text, keepingNewlines: true))
}

/// Writes `text` to standard output exactly as given: only for `get`'s key (already checked by `APIKeyRules`, so it
/// holds no control character), which must be the stored key byte for byte.
func outputKey(_ text: String) throws(KeywayError) {
    do throws(Errno) { try Sys.writeAll(1, Array(text.utf8)) } catch {
        throw KeywayError(.io, "Cannot write to standard output: \(error).")
    }
}
