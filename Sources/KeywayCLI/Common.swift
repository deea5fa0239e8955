import ArgumentParser
import Keyway

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Exit statuses, documented in the README.
enum ExitStatus {
    static let success: Int32 = 0
    /// Not found, or a check failed (an expired credential).
    static let notFound: Int32 = 1
    /// Any other error: storage, permissions, a malformed file, invalid input.
    static let failure: Int32 = 2
    // 64 (EX_USAGE): command-line usage error, from ArgumentParser's ValidationError.
}

/// Standard error, unbuffered.
func printError(_ line: String) {
    try? Sys.writeAll(2, Array((line + "\n").utf8))
}

/// Prints each distinct warning once, on stderr.
final class WarningPrinter: @unchecked Sendable {
    private var seen = Set<String>()
    private let lock = NSLockLite()
    private(set) var warnings: [KeywayWarning] = []

    func handle(_ warning: KeywayWarning) {
        let isNew = lock.withLock { () -> Bool in
            guard seen.insert(warning.message).inserted else { return false }
            warnings.append(warning)
            return true
        }
        // A warning names files and repositories found on the disk (a clone's directory name is anyone's choice):
        // control characters in them are escaped.
        if isNew { printError("Warning: \(TerminalText.escaped(warning.message))") }
    }

    var handler: WarningHandler { { [self] warning in self.handle(warning) } }
}

/// A minimal mutex (pthread), so the CLI needs no Foundation.
final class NSLockLite: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }
}

/// Options every command that touches a store shares.
struct StoreFlags: ParsableArguments {
    @Option(help: "Storage backend: auto (default), keyring, encrypted or plaintext (also $KEYWAY_BACKEND).")
    var backend: String?

    @Flag(help: "Refuse a credentials file that group or others can access, instead of warning (also KEYWAY_STRICT=1).")
    var strict = false
}

/// The explicit key flags shared by get, resolve, whoami and run.
struct KeyFlags: ParsableArguments {
    @Option(help: "An explicit key; wins over everything else.") var apiKey: String?
    @Option(name: [.customShort("k"), .long], help: "A file holding the key (like reflow's -k); second only to --api-key.")
    var keyFile: String?

    func validate() throws {
        if apiKey != nil, keyFile != nil { throw ValidationError("--api-key and --key-file cannot be used together.") }
    }
}

struct ProfileOption: ParsableArguments {
    @Option(help: "Profile name (default: $KEYWAY_PROFILE, else 'default').")
    var profile: String?

    func resolved(_ environment: Environment) -> String {
        profile ?? environment.nonEmpty("KEYWAY_PROFILE") ?? CredentialID.defaultProfile
    }

    /// Whether a profile was chosen by flag or environment (for commands that otherwise show every profile).
    func explicit(_ environment: Environment) -> String? {
        profile ?? environment.nonEmpty("KEYWAY_PROFILE")
    }
}

/// What a command run needs: the environment, the warning printer, the store options and the app specs.
struct Context {
    let environment: Environment
    let warnings = WarningPrinter()
    let options: StoreOptions
    let catalog: AppCatalog

    init(_ flags: StoreFlags) throws(KeywayError) {
        try self.init(backend: flags.backend, strict: flags.strict)
    }

    init(backend: String?, strict: Bool) throws(KeywayError) {
        environment = Environment.process()
        options = try StoreOptions(
            environment: environment, backend: backend, strict: strict, warn: warnings.handler,
            passphrasePrompt: VaultPrompt.ifTerminalAttached())
        catalog = try AppCatalog.load(configDirectory: options.paths.configDirectory)
    }

    func store() throws(KeywayError) -> any CredentialStore { try openStore(options) }

    /// The resolution engine for `app`, on the store.
    func engine(_ app: String, store: any CredentialStore) -> ResolutionEngine {
        ResolutionEngine(
            spec: catalog.spec(for: app), environment: environment, store: store, workingDirectory: currentDirectory(),
            strict: options.strict)
    }

    /// Resolves `app` with the flags `get`, `resolve`, `whoami` and `run` share, and prints the warnings.
    func resolve(_ app: String, _ profile: ProfileOption, _ keys: KeyFlags, explain: Bool = false)
        throws(KeywayError) -> Resolution
    {
        try resolve(app, profile: profile.profile, apiKey: keys.apiKey, keyFile: keys.keyFile, explain: explain)
    }

    func resolve(_ app: String, profile: String?, apiKey: String?, keyFile: String?, explain: Bool = false)
        throws(KeywayError) -> Resolution
    {
        let resolution = try engine(app, store: try store()).resolve(
            profile: profile ?? environment.nonEmpty("KEYWAY_PROFILE") ?? CredentialID.defaultProfile, apiKey: apiKey,
            keyFile: keyFile, explain: explain)
        resolution.warnings.forEach(warnings.handle)
        return resolution
    }

    /// Prints the app's not-found message; returns the not-found status.
    func notFound(_ resolution: Resolution) -> Int32 {
        printError(resolution.spec.notFound(resolution.id))
        return ExitStatus.notFound
    }

    /// Warns when the store's file sits in a git work tree that tracks it or would pick it up (after a write).
    func checkStoreForGit(_ store: any CredentialStore) {
        guard let path = store.filePath,
            let warning = Git.leakWarning(for: path, environment: environment, workingDirectory: currentDirectory())
        else { return }
        warnings.handle(warning)
    }
}

/// Runs a command body: a `KeywayError` is printed as `Error: ...` on stderr and exits 2; the body's own status is
/// passed through.
func guarded(_ body: () throws -> Int32) throws {
    let status: Int32
    do {
        status = try body()
    } catch let error as KeywayError {
        printError("Error: \(error.message)")
        throw ExitCode(ExitStatus.failure)
    }
    if status != ExitStatus.success { throw ExitCode(status) }
}

/// Writes to standard output, unbuffered. A failed write (closed pipe, full disk) is an error, not silence.
func output(_ text: String) throws(KeywayError) {
    do throws(Errno) { try Sys.writeAll(1, Array(text.utf8)) } catch {
        throw KeywayError(.io, "Cannot write to standard output: \(error).")
    }
}
