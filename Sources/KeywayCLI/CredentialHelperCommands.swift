import ArgumentParser
import Keyway

/// `keyway git-credential get|store|erase|capability|install`: git's credential helper on Keyway's store. Parsing
/// and printing only; the protocol is `GitCredentialProtocol` (KeywayCore), the storage `GitCredentialHelper`.
struct GitCredential: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "git-credential",
        abstract: "git's credential helper: git config --global credential.helper '!keyway git-credential'.",
        discussion: """
            git runs it with get, store or erase and the credential on standard input (git-credential(1)). Any \
            other action is ignored, as the protocol requires. `install` prints the configuration line; \
            `install --write` runs it. Passwords are kept in the app git-credential (see keyway list).
            """)

    @Argument(help: "get, store, erase, capability or install.") var action: String
    @Flag(help: "With install: run the git config command instead of printing it.") var write = false
    @OptionGroup var store: StoreFlags

    static let setupCommand = ["git", "config", "--global", "credential.helper", "!keyway git-credential"]
    static let setupLine = "git config --global credential.helper '!keyway git-credential'"

    func run() throws {
        switch action {
        case "get", "store", "erase": break
        case "capability":
            try outputKey("version 0\ncapability authtype\n")
            return
        case "install":
            try guarded {
                if !write {
                    try output(Self.setupLine + "\n")
                    return ExitStatus.success
                }
                let result: Subprocess.Result
                do { result = try Subprocess.run(Self.setupCommand, environment: Git.childEnvironment(), timeout: 30) }
                catch { throw KeywayError(.io, "Cannot run git config: \(error).") }
                guard result.status == 0 else {
                    throw KeywayError(.io, "git config failed (exit \(result.status)): \(result.stderrText)")
                }
                printError("Set: \(Self.setupLine)")
                return ExitStatus.success
            }
            return
        default: return  // an action of a later git: ignored, as the protocol requires
        }
        try guarded {
            let request = try GitCredentialProtocol.parse(try readHelperInput())
            let context = try Context(store)
            let helper = GitCredentialHelper(store: try context.store())
            switch action {
            case "get":
                let answer = try helper.get(request)
                for note in answer.notes { printError("keyway git-credential: \(note)") }
                if let message = answer.message {
                    do throws(Errno) { try Sys.writeAll(1, GitCredentialProtocol.serialize(message)) } catch {
                        throw KeywayError(.io, "Cannot write to standard output: \(error).")
                    }
                }
            case "store":
                if let note = try helper.store(request) { printError("keyway git-credential: \(note)") }
            default:
                try helper.erase(request)
            }
            return ExitStatus.success
        }
    }
}

/// A credential helper's standard input, at most `GitCredentialProtocol.maximumInputBytes`.
func readHelperInput() throws(KeywayError) -> [UInt8] {
    let bytes: [UInt8]?
    do throws(Errno) { bytes = try Sys.readAll(0, limit: GitCredentialProtocol.maximumInputBytes) } catch {
        throw KeywayError(.io, "Cannot read standard input: \(error).")
    }
    guard let bytes else {
        throw KeywayError(
            .invalidInput,
            "The input is longer than \(GitCredentialProtocol.maximumInputBytes) bytes; nothing was read or stored.")
    }
    return bytes
}
