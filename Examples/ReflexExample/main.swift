// A small Reflex-style CLI built on the Keyway library: the proof that a Swift program gets Keyway's resolution
// rules, provenance, storage and warnings by declaring its app spec in code.
//
//     reflex-example login [--profile P] [--api-key KEY]   (else the key is read from standard input)
//     reflex-example logout [--profile P]
//     reflex-example whoami [--profile P]
//     reflex-example deploy [--profile P] [--api-key KEY]  (a command that needs the key)
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

func fail(_ message: String, status: Int32) -> Never {
    writeError(message + "\n")
    exit(status)
}

func warn(_ warning: KeywayWarning) { writeError("Warning: \(warning.message)\n") }

/// Writes `text` on standard error.
func writeError(_ text: String) {
    var text = text
    text.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}

/// Removes `--name VALUE` from `arguments` and returns VALUE.
func option(_ name: String, from arguments: inout [String]) -> String? {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    let value = arguments[index + 1]
    arguments.removeSubrange(index...index + 1)
    return value
}

/// Everything on standard input.
func standardInput() -> String {
    var text = ""
    while let line = readLine(strippingNewline: false) { text += line }
    return text
}

func main() {
    var arguments = Array(CommandLine.arguments.dropFirst())
    guard let command = arguments.first else {
        fail("usage: reflex-example login|logout|whoami|deploy [--profile P] [--api-key KEY]", status: 64)
    }
    arguments.removeFirst()
    let profile = option("--profile", from: &arguments) ?? CredentialID.defaultProfile
    let apiKey = option("--api-key", from: &arguments)
    if !arguments.isEmpty { fail("reflex-example: unexpected arguments: \(arguments.joined(separator: " "))", status: 64) }
    do {
        try run(command, profile: profile, apiKey: apiKey)
    } catch let error as KeywayError {
        fail("Error: \(error.message)", status: 2)
    } catch {
        fail("Error: \(error)", status: 2)
    }
}

func run(_ command: String, profile: String, apiKey: String?) throws {
    let environment = Environment.process()
    let store = try openStore(StoreOptions(environment: environment, warn: { warn($0) }))
    let engine = ResolutionEngine(spec: spec, environment: environment, store: store)
    let id = CredentialID(app: spec.name, profile: profile)
    switch command {
    case "login":
        var key = apiKey ?? standardInput()
        if key.hasSuffix("\n") { key.removeLast() }
        let secret = Secret(key)
        try validateAPIKey(secret)
        if let warning = try spec.checkPrefix(secret) { warn(warning) }
        try store.write(Credential(id: id, secret: secret))
        print("Logged in to \(spec.name) (profile \(profile)) with \(spec.masked(secret)).")
    case "logout":
        guard try store.delete(id) else { fail("Not logged in (profile \(profile)).", status: 1) }
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
    default:
        fail("reflex-example: unknown command '\(command)'", status: 64)
    }
}

main()
