// The README's "Using Keyway from Swift" example, compiled with the package (the text between the two marker lines
// is the README's code block, byte for byte: Tests/KeywayTests/ReadmeExampleTests.swift checks it, and runs it).
//
//     library-example APP [KEY]   (with KEY, stores it for APP first)

// README example begin
import Keyway

/// Stores `key` for `app` (when given), resolves the app's key with the CLI's rules, and leak-checks the current
/// directory.
func demo(app: String, key: String?) throws(KeywayError) {
    // Keyway's settings come from the environment, as for the keyway CLI: KEYWAY_BACKEND (default auto: the keyring,
    // else the encrypted vault, else the plaintext file), KEYWAY_CONFIG_DIR, the vault's key or passphrase...
    let environment = Environment.process()
    let options = try StoreOptions(environment: environment, warn: { print("warning:", $0.message) })
    let store = try openStore(options)

    // Store a key as `keyway login` does (the same key again keeps what was recorded with it), and read it back.
    let id = CredentialID(app: app, profile: CredentialID.profile(from: environment))  // KEYWAY_PROFILE, else default
    if let key {
        let secret = Secret(key)
        try validateAPIKey(secret)
        try store.logIn(id, secret: secret, details: LoginDetails(account: "me@example.com"))
        print("stored:", try store.read(id)?.description ?? "nothing")  // a Secret prints masked, never whole
    }

    // Resolve the app's key with the CLI's rules: its spec (built in, or the user's apps/*.json), then the flag,
    // its environment variables, its own files and Keyway's store, in the order the spec gives.
    let catalog = try AppCatalog.load(configDirectory: options.paths.configDirectory)
    let engine = ResolutionEngine(
        spec: catalog.spec(for: app), environment: environment, store: store, workingDirectory: currentDirectory(),
        strict: options.strict)
    let resolution = try engine.resolve(profile: id.profile, apiKey: nil)
    resolution.warnings.forEach { print("warning:", $0.message) }  // legacy variables, git leaks, expiry...
    if let found = resolution.key {
        print("\(app): \(resolution.masked ?? "") from the \(found.source)")  // the key itself: found.secret.reveal()
    } else {
        print(resolution.spec.notFound(resolution.id))
    }

    // Leak-check the current directory: credentials files in git, and keys (the stored ones too) in its content.
    let stored = storedSecretsForLeakCheck(options)
    let report = LeakChecker(
        LeakCheckOptions(
            paths: ["."], machineAudit: false, environment: environment, workingDirectory: currentDirectory(),
            specs: catalog.entries.map(\.spec), stored: stored.matcher)
    ).run()
    for finding in report.findings { print("\(finding.severity): \(finding.relativePath): \(finding.message)") }
    print("leak-check: \(report.findings.count) findings, exit status \(report.exitStatus)")
}

let arguments = Array(CommandLine.arguments.dropFirst())
if let app = arguments.first {
    do throws(KeywayError) { try demo(app: app, key: arguments.dropFirst().first) } catch {
        print("Error: \(error.message) (\(error.code))")
    }
} else {
    print("usage: library-example APP [KEY]")
}
// A store may still be loading a library in the background (libcurl, for OpenBao): let it finish before the end.
finishBackgroundLoading()
// README example end
