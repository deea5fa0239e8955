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
                do {
                    result = try Subprocess.run(Self.setupCommand, environment: Git.childEnvironment(), timeout: 30)
                } catch { throw KeywayError(.io, "Cannot run git config: \(error).") }
                guard result.status == 0 else {
                    throw KeywayError(.io, "git config failed (exit \(result.status)): \(result.stderrText)")
                }
                printError("Set: \(Self.setupLine)")
                return ExitStatus.success
            }
            return
        default: return  // an action of a later git: ignored, as the protocol requires
        }
        let status = Self.serve(action, backend: store.backend, strict: store.strict)
        if status != ExitStatus.success { throw ExitCode(status) }
    }

    /// `keyway git-credential get|store|erase` as git runs it (two arguments, no option): answered before
    /// ArgumentParser is set up, as `keyway get` is (`FastGet`), since git runs the helper for every request.
    static func fastPath(_ arguments: [String]) -> Int32? {
        guard arguments.count == 2, arguments[0] == "git-credential", ["get", "store", "erase"].contains(arguments[1])
        else { return nil }
        return serve(arguments[1], backend: nil, strict: false)
    }

    /// Runs get, store or erase; errors go to standard error (git shows them and goes on to its prompt).
    static func serve(_ action: String, backend: String?, strict: Bool) -> Int32 {
        do throws(KeywayError) {
            let request = try GitCredentialProtocol.parse(try readHelperInput())
            let context = try Context(backend: backend, strict: strict)
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
        } catch {
            printError("Error: \(error.message)")
            return ExitStatus.failure
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

/// `keyway import git` and `keyway import docker`: copies what git's and docker's other helpers stored (keyring
/// items of git-credential-libsecret and docker-credential-secretservice, `~/.git-credentials`, `auths` of
/// `~/.docker/config.json`) into Keyway's store; with `--remove`, deletes the copied originals (the keyring items,
/// and `~/.git-credentials` when every line of it was imported or already held).
enum HelperImport {
    static func run(_ kind: String, remove: Bool, flags: StoreFlags) throws(KeywayError) -> Int32 {
        let context = try Context(flags)
        let store = try context.store()
        let home = context.environment.home ?? ""
        if kind == "git" {
            let file = home.isEmpty ? nil : home + "/.git-credentials"
            let helper = GitCredentialHelper(store: store)
            var result = try helper.importExisting(gitCredentialsFile: file, remove: remove)
            try output(
                "Imported \(result.imported.count) git \(result.imported.count == 1 ? "credential" : "credentials") "
                    + "into the \(store.backendName) store (app git-credential).\n")
            if result.unreadableLines > 0 {
                printError(
                    "Note: \(result.unreadableLines) lines of \(file ?? "") are not protocol://user:password@host URLs "
                        + "and were not imported.")
            }
            if result.uncopiedLines > 0 {
                printError(
                    "Note: \(result.uncopiedLines) lines of \(file ?? "") were not imported: the \(store.backendName) "
                        + "store already holds a different password for the same entry (see keyway list).")
            }
            if !remove {
                let originals = [
                    result.fileFound ? file : nil,
                    result.removableItems > 0
                        ? "\(result.removableItems) git-credential-libsecret keyring "
                            + (result.removableItems == 1 ? "item" : "items") : nil,
                ].compactMap { $0 }
                // At a terminal, Keyway offers to remove the originals now (the same as --remove).
                guard !originals.isEmpty,
                    Confirmation.ask(
                        "Keyway now holds these credentials. Delete \(originals.joined(separator: " and ")) "
                            + "(git then asks Keyway, through '!keyway git-credential')? [y/N] ")
                else {
                    if result.fileFound, let file {
                        printError(
                            "Note: \(file) still holds the passwords in plaintext; run keyway import git --remove to "
                                + "delete it (and the keyring items copied) once you use '!keyway git-credential'.")
                    }
                    return ExitStatus.success
                }
                result = try helper.importExisting(gitCredentialsFile: file, remove: true)
            }
            if result.removedItems > 0 {
                printError(
                    "Removed \(result.removedItems) git-credential-libsecret keyring "
                        + (result.removedItems == 1 ? "item." : "items."))
            }
            if let refusal = result.removalRefused { throw refusal }
            if let file, result.fileRemoved {
                printError("Removed \(file).")
            } else if let file, result.fileFound {
                printError("Note: \(file) was kept: some of its lines could not be imported.")
            }
            return ExitStatus.success
        }
        let config = home.isEmpty ? nil : home + "/.docker/config.json"
        let helper = DockerCredentialHelper(store: store)
        var result = try helper.importExisting(configFile: config, remove: remove)
        try output(
            "Imported \(result.imported.count) docker \(result.imported.count == 1 ? "credential" : "credentials") "
                + "into the \(store.backendName) store (app docker-credential).\n")
        // At a terminal, Keyway offers to do what --remove does now.
        if !remove, result.removalPending,
            Confirmation.ask(
                "Keyway now holds these credentials. Set \"credsStore\": \"keyway\" in "
                    + "\(config ?? "~/.docker/config.json"), remove the \"auth\" values Keyway holds from it and delete "
                    + "the docker-credential-secretservice keyring items copied? [y/N] ")
        {
            result = try helper.importExisting(configFile: config, remove: true)
        }
        if remove || result.configRewritten || result.removedItems > 0 {
            if result.removedItems > 0 {
                printError(
                    "Removed \(result.removedItems) docker-credential-secretservice keyring "
                        + (result.removedItems == 1 ? "item." : "items."))
            }
            if let config, result.configRewritten {
                printError(
                    "Rewrote \(config): \"credsStore\": \"keyway\", and the \"auth\" and \"identitytoken\" values Keyway now "
                        + "holds removed.")
            }
            return ExitStatus.success
        }
        printError(
            "Note: to have docker use Keyway, run keyway import docker --remove: it sets \"credsStore\": \"keyway\" in "
                + "\(config ?? "~/.docker/config.json") and removes the \"auth\" values Keyway holds (they are base64, "
                + "not encrypted), and deletes the keyring items copied.")
        return ExitStatus.success
    }
}
