import ArgumentParser
import Glibc
import Keyway

struct Vault: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create or re-key the encrypted backend's vault.",
        discussion: """
            The vault is $KEYWAY_VAULT_FILE, else credentials.vault in the config directory. It is unlocked by the \
            first of: KEYWAY_VAULT_KEY_FILE (a file holding the 32-byte key), KEYWAY_VAULT_KEY (the key in base64), \
            KEYWAY_PASSPHRASE, a passphrase prompt when a terminal is attached. A vault opens only with the method it \
            was created with.
            """,
        subcommands: [VaultInit.self, VaultRekey.self])
}

/// Argon2id cost for a new passphrase.
struct Argon2Options: ParsableArguments {
    @Option(
        help: """
            Argon2id passes for a new passphrase (vault init: default 3, libsodium's MODERATE; vault rekey: default \
            the vault's current value; accepted 1 to 10).
            """)
    var argon2Ops: UInt64?

    @Option(
        help: """
            Argon2id memory in MiB for a new passphrase (vault init: default 256, libsodium's MODERATE; vault rekey: \
            default the vault's current value; accepted up to 1024).
            """)
    var argon2MemMib: UInt64?

    /// The values given, in bytes for the memory (an overflowing MiB count becomes a value the range check refuses).
    var change: Argon2Change {
        let memory = argon2MemMib.map { mib in
            let bytes = mib.multipliedReportingOverflow(by: 1 << 20)
            return bytes.overflow ? UInt64.max : bytes.partialValue
        }
        return Argon2Change(opslimit: argon2Ops, memlimit: memory)
    }

    var isGiven: Bool { argon2Ops != nil || argon2MemMib != nil }

    /// A value outside the accepted range is a usage error (exit 64).
    func validate() throws {
        do throws(KeywayError) { _ = try change.applied(to: .moderate) } catch { throw ValidationError(error.message) }
    }

    /// The cost for a new vault, refused outside the accepted range, with a warning below MODERATE.
    func cost(_ warnings: WarningPrinter) throws(KeywayError) -> Argon2Cost {
        let cost = try change.applied(to: .moderate)
        Self.warnIfWeak(cost, warnings)
        return cost
    }

    static func warnIfWeak(_ cost: Argon2Cost, _ warnings: WarningPrinter) {
        cost.weaknessWarning.map(warnings.handle)
    }
}

/// The encrypted store the vault commands work on, from the environment.
/// `newKeyFile`, a key file about to be created, has its directories checked with Keyway's.
private func vaultStore(
    strict: Bool, cost: Argon2Cost, warnings: WarningPrinter, newKeyFile: String? = nil
) throws(KeywayError) -> EncryptedStore {
    let environment = Environment.process()
    let paths = try KeywayPaths(environment: environment)
    let strict = strict || environment.flag("KEYWAY_STRICT")
    try paths.checkDirectories(
        home: environment.home, strict: strict, warn: warnings.handler, extraFiles: newKeyFile.map { [$0] } ?? [])
    return EncryptedStore(
        paths: paths, unlock: VaultUnlock(environment: environment, prompt: VaultPrompt.ifTerminalAttached()),
        newVaultCost: cost, strict: strict, warn: warnings.handler)
}

struct VaultInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create an empty vault.",
        discussion: """
            With --key-file, a fresh random 32-byte key is written to PATH (mode 0600; it must not exist) and the \
            vault is locked with it; use it with KEYWAY_VAULT_KEY_FILE=PATH. Without it, the vault is locked with the \
            first unlock source found (an existing key, else a passphrase, asked twice at the prompt). Refuses to \
            touch an existing vault.
            """)

    @Option(help: "Generate a fresh random key into this file and lock the vault with it.") var keyFile: String?
    @OptionGroup var argon2: Argon2Options
    @Flag(help: "Refuse files that group or others can access (also KEYWAY_STRICT=1).") var strict = false

    func validate() throws {
        if keyFile != nil, argon2.isGiven {
            throw ValidationError(
                "--argon2-ops and --argon2-mem-mib set a passphrase's cost; a vault locked with --key-file has none.")
        }
    }

    func run() throws {
        try guarded {
            let warnings = WarningPrinter()
            let cost = keyFile == nil ? try argon2.cost(warnings) : Argon2Cost.moderate
            let store = try vaultStore(strict: strict, cost: cost, warnings: warnings, newKeyFile: keyFile)
            let method = try store.create(keyFile.map { .generatedKeyFile($0) } ?? .unlockSource)
            if let keyFile {
                try output(
                    "Created an empty vault at \(store.location), locked with the new key in \(keyFile).\n"
                        + "Use it with: KEYWAY_BACKEND=encrypted KEYWAY_VAULT_KEY_FILE=\(ProtectedFile.shellQuoted(keyFile))\n"
                        + "Keep a copy of the key file somewhere safe: without it the vault cannot be opened.\n")
            } else {
                try output(
                    "Created an empty vault at \(store.location), locked with "
                        + "\(method == .rawKey ? "your key" : "a passphrase (Argon2id \(cost))").\n")
            }
            return ExitStatus.success
        }
    }
}

struct VaultRekey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rekey",
        abstract: "Re-encrypt the vault under a new passphrase or a new key.",
        discussion: """
            The current key or passphrase comes from the usual sources. The new one is a fresh random key written to \
            --new-key-file PATH (mode 0600; it must not exist), else a passphrase from KEYWAY_NEW_PASSPHRASE, else \
            asked twice at the prompt. A new passphrase keeps the vault's Argon2id cost unless --argon2-ops or \
            --argon2-mem-mib is given; a lower cost is warned about. The re-encrypted vault is written in full, \
            synced and checked before it replaces the old file, which stays intact if anything fails.
            """)

    @Option(help: "Generate a fresh random key into this file and lock the vault with it.") var newKeyFile: String?
    @OptionGroup var argon2: Argon2Options
    @Flag(help: "Refuse files that group or others can access (also KEYWAY_STRICT=1).") var strict = false

    func validate() throws {
        if newKeyFile != nil, argon2.isGiven {
            throw ValidationError(
                "--argon2-ops and --argon2-mem-mib set a new passphrase's cost; a vault locked with --new-key-file has none."
            )
        }
    }

    func run() throws {
        try guarded {
            let warnings = WarningPrinter()
            // Options given are checked before anything is opened; each one not given keeps the vault's value.
            if newKeyFile == nil, argon2.isGiven { _ = try argon2.change.applied(to: .moderate) }
            let store = try vaultStore(strict: strict, cost: .moderate, warnings: warnings, newKeyFile: newKeyFile)
            if let newKeyFile {
                try store.rekey(to: .generatedKeyFile(newKeyFile))
                try output(
                    "Re-encrypted \(store.location) under the new key in \(newKeyFile).\n"
                        + "Use it with: KEYWAY_VAULT_KEY_FILE=\(ProtectedFile.shellQuoted(newKeyFile)); the old key "
                        + "no longer opens the vault.\n")
            } else {
                let environment = store.unlock.environment
                let cost =
                    try store.rekey(
                        to: .passphrase(environment.nonEmpty("KEYWAY_NEW_PASSPHRASE"), prompt: store.unlock.prompt),
                        cost: argon2.change) ?? .moderate
                if argon2.isGiven { Argon2Options.warnIfWeak(cost, warnings) }
                try output(
                    "Re-encrypted \(store.location) under the new passphrase (Argon2id \(cost)); the old key or "
                        + "passphrase no longer opens it.\n")
            }
            return ExitStatus.success
        }
    }
}

/// The passphrase prompt the encrypted backend gets: on the controlling terminal, without echo, when there is one.
enum VaultPrompt {
    static func ifTerminalAttached() -> PassphrasePrompt? {
        let fd = Glibc.open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        Glibc.close(fd)
        return PassphrasePrompt { prompt throws(KeywayError) in
            try KeyInput.bytesFromTerminal(
                prompt: prompt,
                noTerminalHint: "set KEYWAY_VAULT_KEY_FILE, KEYWAY_VAULT_KEY or KEYWAY_PASSPHRASE instead")
        }
    }
}
