import KeywayCore

/// Asks the person at the terminal for a passphrase without echo. Supplied by the program (the CLI) so the backend
/// stays free of any UI; it returns the bytes typed, which the backend copies into protected memory and wipes.
public struct PassphrasePrompt: Sendable {
    public let ask: @Sendable (_ prompt: String) throws(KeywayError) -> [UInt8]

    public init(_ ask: @escaping @Sendable (_ prompt: String) throws(KeywayError) -> [UInt8]) {
        self.ask = ask
    }
}

/// Where the vault's key or passphrase comes from. The first of these found wins, and only it is tried:
/// 1. `KEYWAY_VAULT_KEY_FILE`: a file holding exactly 32 raw bytes, a regular file owned by the user with no group or
///    other permission;
/// 2. `KEYWAY_VAULT_KEY`: the key in base64;
/// 3. `KEYWAY_PASSPHRASE`: a passphrase;
/// 4. the prompt, when the program supplies one (the CLI does when a terminal is attached).
public struct VaultUnlock: Sendable {
    public var environment: Environment
    public var prompt: PassphrasePrompt?

    public init(environment: Environment, prompt: PassphrasePrompt? = nil) {
        self.environment = environment
        self.prompt = prompt
    }

    /// The variables that supply the vault's key or passphrase, in the order they are tried: `KEYWAY_VAULT_KEY_FILE`,
    /// `KEYWAY_VAULT_KEY`, `KEYWAY_PASSPHRASE`.
    package static let variables = ["KEYWAY_VAULT_KEY_FILE", "KEYWAY_VAULT_KEY", "KEYWAY_PASSPHRASE"]

    /// Whether `environment` sets one of `variables` (not empty): the vault's key or passphrase comes from the
    /// environment, without the prompt.
    package static func isConfigured(_ environment: Environment) -> Bool {
        variables.contains { environment.nonEmpty($0) != nil }
    }

    static let noneMessage =
        "No vault key or passphrase: set KEYWAY_VAULT_KEY_FILE (a file holding the 32-byte key), KEYWAY_VAULT_KEY (the "
        + "key in base64) or KEYWAY_PASSPHRASE, or run in a terminal to be prompted for the passphrase."

    /// The source that wins, without reading any secret yet.
    enum Source {
        case keyFile(String)
        case keyVariable(String)
        case passphraseVariable(String)
        case prompt(PassphrasePrompt)

        var method: VaultMethod {
            switch self {
            case .keyFile, .keyVariable: return .rawKey
            case .passphraseVariable, .prompt: return .passphrase
            }
        }

        /// For messages: where the secret came from (never the secret).
        var name: String {
            switch self {
            case .keyFile(let path): return "the key file \(path) (KEYWAY_VAULT_KEY_FILE)"
            case .keyVariable: return "KEYWAY_VAULT_KEY"
            case .passphraseVariable: return "KEYWAY_PASSPHRASE"
            case .prompt: return "the passphrase prompt"
            }
        }
    }

    func source() throws(KeywayError) -> Source {
        if let path = environment.nonEmpty("KEYWAY_VAULT_KEY_FILE") { return .keyFile(path) }
        if let key = environment.nonEmpty("KEYWAY_VAULT_KEY") { return .keyVariable(key) }
        if let passphrase = environment.nonEmpty("KEYWAY_PASSPHRASE") { return .passphraseVariable(passphrase) }
        if let prompt { return .prompt(prompt) }
        throw KeywayError(.vaultLocked, Self.noneMessage)
    }

    /// The source, checked against the method `vault` (a file name) was created with: the other method is an error,
    /// never a fallback to a later source.
    func source(for method: VaultMethod, vault: String) throws(KeywayError) -> Source {
        let source = try source()
        guard source.method == method else {
            throw KeywayError(
                .vaultWrongMethod,
                "\(vault) was created to be opened with \(method), but \(source.name) supplies "
                    + "\(source.method == .rawKey ? "a key" : "a passphrase"). Keyway does not fall back from one to "
                    + "the other; unset it and supply \(method == .rawKey ? "the key" : "the passphrase").", path: vault
            )
        }
        return source
    }

    /// The 32-byte key from a raw-key source.
    static func rawKey(_ source: Source) throws(KeywayError) -> SecureBytes {
        switch source {
        case .keyFile(let path): return try readKeyFile(path)
        case .keyVariable(let text):
            var bytes = Array(text.utf8)
            defer { Sodium.wipe(&bytes) }
            let decoded: SecureBytes?
            do throws(SodiumFailure) { decoded = try Sodium.decodeBase64(bytes) } catch {
                throw KeywayError(.io, "Cannot decode KEYWAY_VAULT_KEY: \(error.operation) failed.")
            }
            guard let decoded, decoded.count == Sodium.keyBytes else {
                throw KeywayError(
                    .invalidInput,
                    "KEYWAY_VAULT_KEY must be a 32-byte key in standard base64 (44 characters ending in '='); its value "
                        + "is not. It is not shown here.")
            }
            return decoded
        case .passphraseVariable, .prompt:
            throw KeywayError(.invalidInput, "\(source.name) supplies a passphrase, not a key.")
        }
    }

    /// Reads a key file: exactly 32 bytes, a regular file (or a link to one) owned by the user, mode without any group
    /// or other bit. Read straight into protected memory.
    static func readKeyFile(_ path: String) throws(KeywayError) -> SecureBytes {
        let file = ProtectedFile(path: path, strict: true)
        let outcome: (bytes: SecureBytes?, size: Int)?
        do throws(KeywayError) {
            outcome = try file.withCheckedDescriptor { fd throws(KeywayError) in
                try SecureBytes.read(from: fd, count: Sodium.keyBytes)
            }
        } catch  where error.code == .insecurePermissions {
            let mode = (try? Sys.statFollowingLinks(path)).flatMap { $0 }.map { FileMode.octal($0.st_mode) } ?? "?"
            throw KeywayError(
                .insecurePermissions,
                "The vault key file \(path) (KEYWAY_VAULT_KEY_FILE) has permissions \(mode), which let group or others "
                    + "access it; Keyway refuses such a key file. Fix with: chmod 600 \(ProtectedFile.shellQuoted(path))",
                path: path)
        } catch {
            throw KeywayError(error.code, "The vault key file (KEYWAY_VAULT_KEY_FILE): \(error.message)", path: path)
        }
        guard let outcome else {
            throw KeywayError(
                .invalidInput, "The vault key file \(path) (KEYWAY_VAULT_KEY_FILE) does not exist.", path: path)
        }
        guard let key = outcome.bytes else {
            let size = outcome.size > Sodium.keyBytes ? "more than \(Sodium.keyBytes)" : "\(outcome.size)"
            throw KeywayError(
                .invalidInput,
                "The vault key file \(path) (KEYWAY_VAULT_KEY_FILE) holds \(size) bytes; a key file holds exactly "
                    + "\(Sodium.keyBytes) random bytes (create one with: keyway vault init --key-file PATH).",
                path: path)
        }
        return key
    }

    /// The passphrase from a passphrase source, in protected memory. With `confirm` (a new vault or a new passphrase),
    /// the prompt asks twice and an empty passphrase is refused.
    static func passphrase(_ source: Source, vault: String, confirm: Bool) throws(KeywayError) -> SecureBytes {
        var bytes: [UInt8]
        switch source {
        case .passphraseVariable(let text): bytes = Array(text.utf8)
        case .prompt(let prompt):
            bytes = try prompt.ask(confirm ? "New passphrase for \(vault): " : "Passphrase for \(vault): ")
            if confirm {
                var again = try prompt.ask("Repeat the passphrase: ")
                defer { Sodium.wipe(&again) }
                guard again == bytes else {
                    Sodium.wipe(&bytes)
                    throw KeywayError(.invalidInput, "The two passphrases differ; nothing was changed.")
                }
            }
        case .keyFile, .keyVariable:
            throw KeywayError(.invalidInput, "\(source.name) supplies a key, not a passphrase.")
        }
        defer { Sodium.wipe(&bytes) }
        guard !bytes.isEmpty else { throw KeywayError(.invalidInput, "An empty passphrase is not accepted.") }
        do throws(SodiumFailure) { return try SecureBytes(copying: bytes) } catch {
            throw KeywayError(.io, "Cannot allocate protected memory (\(error.operation) failed).")
        }
    }

    /// The master key for a vault with these parameters from `source`: the raw key, or Argon2id of the passphrase.
    static func masterKey(
        _ source: Source, cost: Argon2Cost?, salt: [UInt8], vault: String, confirm: Bool
    ) throws(KeywayError) -> SecureBytes {
        guard source.method == .passphrase, let cost else { return try rawKey(source) }
        let passphrase = try passphrase(source, vault: vault, confirm: confirm)
        do throws(SodiumFailure) {
            return try Sodium.argon2id(
                passphrase: passphrase, salt: salt[...], opslimit: cost.opslimit, memlimit: cost.memlimit)
        } catch {
            throw KeywayError(
                .io, "Cannot derive the key from the passphrase (\(cost); out of memory?): \(error.operation) failed.",
                path: vault)
        }
    }
}
