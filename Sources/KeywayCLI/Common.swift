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
    @Option(help: "Storage backend: auto (default), keyring, encrypted or plaintext (also $KEYWAY_BACKEND).")
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
        warnIfUnknownApp(app)
        let resolution = try engine(app, store: try store()).resolve(
            profile: profile ?? environment.nonEmpty("KEYWAY_PROFILE") ?? CredentialID.defaultProfile, apiKey: apiKey,
            keyFile: keyFile, explain: explain)
        resolution.warnings.forEach(warnings.handle)
        return resolution
    }

    /// Warns about an app name with no spec that is close to one with a spec (`Reflex` for `reflex`); the command
    /// then goes on with the name as given, as an app without a spec.
    func warnIfUnknownApp(_ app: String) {
        let names = catalog.suggestions(for: app)
        guard !names.isEmpty, APIKeyRules.isShowableName(app) else { return }
        warnings.handle(
            KeywayWarning(
                .unknownApp,
                "Unknown app '\(app)'; did you mean \(names.map { "'\($0)'" }.joined(separator: " or "))? Going on "
                    + "with '\(app)' as an app without a spec (\(defaultEnvironmentVariable(for: app)), then Keyway's "
                    + "store)."))
    }

    /// Prints the app's not-found message; returns the not-found status.
    func notFound(_ resolution: Resolution) -> Int32 {
        printError(resolution.spec.notFound(resolution.id))
        return ExitStatus.notFound
    }

    /// After a `login` or `logout` changed what the store holds for `id` (`stored`: the key now stored, nil after a
    /// logout): warns when resolution does not end at the store — an environment variable, or one of the tool's own
    /// files ahead of the store in its spec, holds a key that `keyway get` and the tool itself use instead — naming
    /// it and how to change that.
    ///
    /// Resolution runs as `keyway get` without `--backend` does (`defaultReadStore`), so a copy in another backend
    /// that comes first — after `login --backend plaintext` while the vault holds another key, or left after
    /// `logout --backend encrypted` — is named too, with the command that removes it.
    func warnIfStoreDoesNotWin(_ id: CredentialID, store: any CredentialStore, stored: Secret?) {
        func resolved(_ store: any CredentialStore) -> ResolvedKey?? {
            guard let resolution = try? engine(id.app, store: store).resolve(profile: id.profile, explain: true),
                resolution.error == nil
            else { return nil }
            return .some(resolution.key)
        }
        // The default store when it can be read; else (it fails, or would have to ask) the store written.
        guard let found = defaultReadStore(options, selected: store).flatMap(resolved) ?? resolved(store),
            let winner = found
        else { return }
        let code: KeywayWarning.Code
        let place: String
        let advice: String
        switch winner.source {
        case .store(let backend, let location) where backend != store.backendName:
            // Another backend's copy is read first (or is all that is left).
            guard winner.secret != stored else { return }
            code = .otherBackendOverridesStore
            place = "The \(backend) store (\(location))"
            advice =
                "remove that copy (keyway logout \(id.app) --profile \(id.profile) --backend \(backend))"
                + (stored == nil
                    ? ""
                    : " or store the key there (keyway login \(id.app) --profile \(id.profile) "
                        + "--backend \(backend))")
            if stored != nil {
                warnings.handle(
                    KeywayWarning(
                        code,
                        "\(place) holds another key for \(id), and keyway get \(id.app) without --backend reads "
                            + "that copy, not the \(store.backendName) store's: keyway get and keyway run use it, not "
                            + "the key just stored. To make the key just stored the one in use, \(advice)."))
            } else {
                warnings.handle(
                    KeywayWarning(
                        code,
                        "keyway get \(id.app) (without --backend) still returns a key for \(id): the \(backend) "
                            + "store (\(location)) holds one, which is now the copy in use. To remove it too, run "
                            + "keyway logout \(id.app) --profile \(id.profile) --backend \(backend)."))
            }
            return
        case .environment(let variable):
            code = .environmentOverridesStore
            place = "The environment variable \(variable)"
            advice = "unset \(variable)"
        case .file(let path):
            code = .fileOverridesStore
            place = "\(path) (\(id.app)'s own credentials file)"
            let quoted = ProtectedFile.shellQuoted(path)
            if stored == nil {
                advice = "remove the key from \(path) or the file itself (rm \(quoted))"
            } else if winner.secret == stored {
                advice = "move it into the store with keyway import \(id.app) --remove (or remove \(path) yourself)"
            } else {
                advice = "put the new key in \(path), or remove the file (rm \(quoted))"
            }
        default:
            return
        }
        let message: String
        if let stored {
            let same = winner.secret == stored
            message =
                "\(place) holds \(same ? "the same key" : "another key") for \(id) and wins over Keyway's "
                + "store, so keyway get \(id.app) and \(id.app) itself use \(same ? "that copy" : "it, not the key just stored")"
                + ". To make the store's key the one in use, \(advice)."
        } else {
            message =
                "keyway get \(id.app) still returns a key for \(id): \(place) holds one, and it comes before "
                + "Keyway's store. To stop that, \(advice)."
        }
        warnings.handle(KeywayWarning(code, message))
    }

    /// Warns when the store's file sits in a git work tree that tracks it or would pick it up (after a write).
    func checkStoreForGit(_ store: any CredentialStore) {
        guard let path = store.filePath,
            let warning = Git.leakWarning(for: path, environment: environment, workingDirectory: currentDirectory())
        else { return }
        warnings.handle(warning)
    }
}

extension KeywayWarning.Code {
    /// One of the tool's own credentials files holds a key that wins over Keyway's store.
    static let fileOverridesStore = KeywayWarning.Code(rawValue: "file-overrides-store")
    /// Another backend's copy of the credential is the one `keyway get` without `--backend` returns.
    static let otherBackendOverridesStore = KeywayWarning.Code(rawValue: "other-backend-overrides-store")
    /// An app name with no spec, close to one with a spec.
    static let unknownApp = KeywayWarning.Code(rawValue: "unknown-app")
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
