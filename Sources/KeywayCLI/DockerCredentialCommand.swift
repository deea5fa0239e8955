import ArgumentParser
import Glibc
import Keyway

/// `docker-credential-keyway store|get|erase|list|version` (the `keyway` binary under that name, through a symlink)
/// and `keyway docker-credential ACTION`, the same program. Parsing and printing only: the protocol is
/// `DockerCredentialProtocol` (KeywayCore), the storage `DockerCredentialHelper`. Errors go to standard output with
/// exit status 1, as docker's clients expect.
struct DockerCredential: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "docker-credential",
        abstract: "docker's credential helper: {\"credsStore\": \"keyway\"} with docker-credential-keyway on PATH.",
        discussion: """
            The same program as docker-credential-keyway (a symlink to keyway under that name). store reads \
            {"ServerURL","Username","Secret"}, get and erase read the server URL, list prints {"URL": "username"}; \
            errors are printed on standard output with exit status 1.
            """)

    @Argument(help: "store, get, erase, list or version.") var action: String

    func run() throws {
        let status = Self.serve([action])
        if status != 0 { throw ExitCode(status) }
    }

    static let programName = "docker-credential-keyway"

    /// Whether this process was started as `docker-credential-keyway`.
    static var invokedAsHelper: Bool {
        guard let first = CommandLine.arguments.first else { return false }
        return first.split(separator: "/").last.map(String.init) == programName
    }

    /// Runs one action (`arguments` without the program name); returns the exit status.
    static func serve(_ arguments: [String]) -> Int32 {
        guard arguments.count == 1 else { return fail("Usage: \(programName) <store|get|erase|list|version>") }
        let action = arguments[0]
        do {
            switch action {
            case "version":
                try outputKey("\(programName) (keyway) \(KeywayCommand.configuration.version)\n")
                return 0
            case "store", "get", "erase", "list": break
            default:
                return fail("Unknown credential action `\(APIKeyRules.shownName(action))`")
            }
            let input = action == "list" ? [] : try readHelperInput()
            let context = try Context(backend: nil, strict: false)
            let helper = DockerCredentialHelper(store: try context.store())
            switch action {
            case "store":
                try helper.store(try DockerCredentialProtocol.parseStore(input))
            case "get":
                guard let found = try helper.get(try DockerCredentialProtocol.parseServerURL(input)) else {
                    return fail(DockerCredentialProtocol.notFound)
                }
                try outputKey(DockerCredentialProtocol.serialize(found))
            case "erase":
                guard try helper.erase(try DockerCredentialProtocol.parseServerURL(input)) else {
                    return fail(DockerCredentialProtocol.notFound)
                }
            default:
                try outputKey(DockerCredentialProtocol.serializeList(try helper.list()))
            }
            return 0
        } catch let error as DockerCredentialProtocol.Failure {
            return fail(error.message)
        } catch let error as KeywayError {
            return fail(error.message)
        } catch {
            return fail("The request failed.")
        }
    }

    /// The protocol's error: one line on standard output, exit status 1.
    static func fail(_ message: String) -> Int32 {
        try? outputKey(TerminalText.escaped(message) + "\n")
        return 1
    }
}
