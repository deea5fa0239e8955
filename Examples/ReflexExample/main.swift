// A small Reflex-style CLI built on the Keyway library: the proof that a Swift program gets Keyway's resolution
// rules, provenance, storage and warnings by declaring its app spec in code.
//
//     reflex-example login [--profile P] [--api-key KEY]   (else the key is read from standard input)
//     reflex-example logout [--profile P]
//     reflex-example whoami [--profile P]
//     reflex-example deploy [--profile P] [--api-key KEY]  (a command that needs the key)
//     reflex-example import [--profile P]   (copies the key from its credentials file into Keyway's store)
//     reflex-example status [--profile P]   (every key it can get, and which one is in use)
import Keyway

#if canImport(Glibc)
    import Glibc
#endif

/// The app's documented rules: flag > REFLEX_EXAMPLE_API_KEY > its own credentials file (whose location two
/// variables override) > Keyway's store.
let spec = AppSpec(
    name: "reflex-example",
    environmentVariables: ["REFLEX_EXAMPLE_API_KEY"],
    sources: [
        .json(
            AppSpec.FileLocation(
                path: "~/.config/reflex-example/credentials.json", directoryVariable: "REFLEX_EXAMPLE_CONFIG_DIR",
                fileVariable: "REFLEX_EXAMPLE_CONFIG_FILE"),
            AppSpec.FieldNames(key: "api_key", account: "account", organization: "organization")),
        .store,
    ],
    expectedPrefixes: ["rfx_"],
    notFoundMessage: "API key is required. Run `reflex-example login` or set {env}.")

/// Writes `line` and a newline to standard error.
func printError(_ line: String) {
    var bytes = Array((line + "\n").utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        if written < 0 && errno == EINTR { continue }
        guard written > 0 else { return }
        bytes = bytes.dropFirst(written)
    }
}

func fail(_ message: String, status: Int32) -> Never {
    printError(message)
    // Not under a store still loading a library in the background (libcurl, for OpenBao).
    finishBackgroundLoading()
    exit(status)
}

func warn(_ warning: KeywayWarning) { printError("Warning: \(warning.message)") }

/// Everything on standard input.
func readStandardInput() -> String {
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = read(0, &buffer, buffer.count)
        if count < 0 && errno == EINTR { continue }
        guard count > 0 else { break }
        bytes += buffer[..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Removes `--name VALUE` from `arguments` and returns VALUE.
func option(_ name: String, from arguments: inout [String]) -> String? {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    let value = arguments[index + 1]
    arguments.removeSubrange(index...index + 1)
    return value
}

func main() {
    var arguments = Array(CommandLine.arguments.dropFirst())
    guard let command = arguments.first else {
        fail("usage: reflex-example login|logout|whoami|deploy|import|status [--profile P] [--api-key KEY]", status: 64)
    }
    arguments.removeFirst()
    // --profile, else KEYWAY_PROFILE, else default (as keyway's --profile).
    let profile = CredentialID.profile(from: Environment.process(), given: option("--profile", from: &arguments))
    let apiKey = option("--api-key", from: &arguments)
    if !arguments.isEmpty {
        fail("reflex-example: unexpected arguments: \(arguments.joined(separator: " "))", status: 64)
    }
    do {
        try run(command, profile: profile, apiKey: apiKey)
    } catch let error as KeywayError {
        fail("Error: \(error.message)", status: 2)
    } catch {
        fail("Error: \(error)", status: 2)
    }
    finishBackgroundLoading()
}

func run(_ command: String, profile: String, apiKey: String?) throws {
    let environment = Environment.process()
    let options = try StoreOptions(environment: environment, warn: { warn($0) })
    let store = try openStore(options)
    let engine = ResolutionEngine(
        spec: spec, environment: environment, store: store, workingDirectory: currentDirectory())
    let id = CredentialID(app: spec.name, profile: profile)
    switch command {
    case "login":
        var key = apiKey ?? readStandardInput()
        if key.hasSuffix("\n") { key.removeLast() }
        let secret = Secret(key)
        try validateAPIKey(secret)
        if let warning = try spec.checkPrefix(secret) { warn(warning) }
        // The same key again keeps what was recorded with it (as keyway login does).
        try store.logIn(id, secret: secret)
        // As keyway login: a store file git would pick up, and a key elsewhere that wins over the one just stored.
        store.gitLeakWarning(environment: environment).map(warn)
        storeOverrideWarning(for: id, spec: spec, store: store, stored: secret, options: options).map(warn)
        print("Logged in to \(spec.name) (profile \(profile)) with \(spec.masked(secret)).")
    case "logout":
        guard try store.delete(id) else { fail("Not logged in (profile \(profile)).", status: 1) }
        // As keyway logout: a key still found elsewhere (the environment, the tool's file, another backend).
        storeOverrideWarning(for: id, spec: spec, store: store, stored: nil, options: options).map(warn)
        print("Logged out (profile \(profile)).")
    case "whoami", "deploy":
        let resolution = try engine.resolve(profile: profile, apiKey: apiKey)
        resolution.warnings.forEach(warn)
        guard let key = resolution.key else { fail(spec.notFound(id), status: 1) }
        if command == "whoami" {
            print("\(key.account ?? "(no account recorded)") — key \(resolution.masked ?? "") from the \(key.source)")
        } else {
            // A real tool would send key.secret.reveal() in an Authorization header here.
            print("Deploying with key \(resolution.masked ?? "") from the \(key.source).")
        }
    case "import":
        switch try ToolFileKey.find(profile: profile, engine: engine) {
        case .notFound(let searched):
            fail("No key in \(searched.joined(separator: ", ")).", status: 1)
        case .inKeyring(let item):
            fail("The key is in the keyring item \(item), which is read where it is; nothing to import.", status: 1)
        case .found(let found):
            found.warnings.forEach(warn)
            if case .conflict = try found.copy(into: store, warn: warn) {
                fail("Not imported: Keyway's store holds a different key (profile \(profile)).", status: 1)
            }
            print("Imported \(spec.masked(found.key.secret)) from \(found.path) into the \(store.backendName) store.")
        }
    case "status":
        let report = try StatusReport(options: options, store: store, specs: [spec], app: spec.name, profile: profile)
        report.notes.forEach { printError("Note: \($0)") }
        for case .warning(let warning) in report.problems { warn(warning) }
        if let error = report.error { throw error }
        for credential in report.credentials {
            print("\(credential.masked) from the \(credential.key.source)\(credential.inUse ? " (in use)" : "")")
            credential.warnings.forEach(warn)
        }
        if report.credentials.isEmpty { fail(spec.notFound(id), status: 1) }
    default:
        fail("reflex-example: unknown command '\(command)'", status: 64)
    }
}

main()
