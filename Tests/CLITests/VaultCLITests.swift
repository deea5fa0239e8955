import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

/// End-to-end tests of the encrypted backend through the `keyway` binary, for both unlock methods.
@Suite struct VaultCLITests {
    var vaultFile: (Sandbox) -> String { { $0.configDirectory + "/credentials.vault" } }

    func contains(_ path: String, _ needle: String) throws -> Bool {
        let bytes = try #require(try readFile(path))
        let pattern = Array(needle.utf8)
        guard bytes.count >= pattern.count else { return false }
        return (0...(bytes.count - pattern.count)).contains { Array(bytes[$0..<($0 + pattern.count)]) == pattern }
    }

    @Test func rawKeyFileAndBase64Key() throws {
        let sandbox = try Sandbox()
        let keyFile = sandbox.root + "/vault.key"
        var r = try sandbox.run(["vault", "init", "--key-file", keyFile])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("KEYWAY_VAULT_KEY_FILE="))
        #expect(try permissions(keyFile) == 0o600)
        #expect(try permissions(vaultFile(sandbox)) == 0o600)
        let withFile = ["KEYWAY_BACKEND": "encrypted", "KEYWAY_VAULT_KEY_FILE": keyFile]
        r = try sandbox.run(
            ["login", "reflex", "--account", "cli-account@example.com"], env: withFile,
            stdin: "rfx_cli_secret_0123456789\n")
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("encrypted store"))
        r = try sandbox.run(["get", "reflex"], env: withFile)
        #expect(r.status == 0 && r.stdout == "rfx_cli_secret_0123456789\n", "\(r)")
        let base64 = Data(try #require(try readFile(keyFile))).base64EncodedString()
        r = try sandbox.run(["get", "reflex", "--backend", "encrypted"], env: ["KEYWAY_VAULT_KEY": base64])
        #expect(r.status == 0 && r.stdout == "rfx_cli_secret_0123456789\n", "\(r)")
        for needle in ["rfx_cli_secret", "reflex", "cli-account"] {
            #expect(try !contains(vaultFile(sandbox), needle), "the vault holds \(needle) in clear")
        }
        // No key at all: exit 2, every source named.
        r = try sandbox.run(["get", "reflex"], env: ["KEYWAY_BACKEND": "encrypted"])
        #expect(r.status == 2, "\(r)")
        for name in ["KEYWAY_VAULT_KEY_FILE", "KEYWAY_VAULT_KEY", "KEYWAY_PASSPHRASE", "terminal"] {
            #expect(r.stderr.contains(name), "names \(name): \(r.stderr)")
        }
        // A passphrase for a key vault: the method error, no fallback.
        r = try sandbox.run(["get", "reflex"], env: ["KEYWAY_BACKEND": "encrypted", "KEYWAY_PASSPHRASE": "pw"])
        #expect(r.status == 2 && r.stderr.contains("created to be opened with a key"), "\(r)")
        // A wrong key: exit 2, the key not printed.
        let wrong = "//////////////////////////////////////////8="
        r = try sandbox.run(["get", "reflex"], env: ["KEYWAY_BACKEND": "encrypted", "KEYWAY_VAULT_KEY": wrong])
        #expect(r.status == 2 && r.stderr.contains("Wrong key") && !r.stderr.contains(wrong), "\(r)")
        // A key file others can read is refused.
        chmod(keyFile, 0o644)
        r = try sandbox.run(["get", "reflex"], env: withFile)
        #expect(r.status == 2 && r.stderr.contains("chmod 600"), "\(r)")
        chmod(keyFile, 0o600)
        // init refuses an existing vault.
        r = try sandbox.run(["vault", "init", "--key-file", sandbox.root + "/other.key"])
        #expect(r.status == 2 && r.stderr.contains("already exists"), "\(r)")
        // Rekey to a new key file: the old key stops working, the contents stay.
        let newKey = sandbox.root + "/new.key"
        r = try sandbox.run(["vault", "rekey", "--new-key-file", newKey], env: withFile)
        #expect(r.status == 0, "\(r)")
        r = try sandbox.run(["get", "reflex"], env: withFile)
        #expect(r.status == 2, "\(r)")
        r = try sandbox.run(["get", "reflex"], env: ["KEYWAY_BACKEND": "encrypted", "KEYWAY_VAULT_KEY_FILE": newKey])
        #expect(r.status == 0 && r.stdout == "rfx_cli_secret_0123456789\n", "\(r)")
    }

    @Test func passphraseFromTheEnvironment() throws {
        let sandbox = try Sandbox()
        let vault = sandbox.root + "/elsewhere/my.vault"
        let cheap = ["--argon2-ops", "1", "--argon2-mem-mib", "8"]
        let pass = ["KEYWAY_VAULT_FILE": vault, "KEYWAY_PASSPHRASE": "cli passphrase"]
        var r = try sandbox.run(["vault", "init"] + cheap, env: pass)
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr.contains("below libsodium's MODERATE"), "a weak cost is warned about: \(r)")
        let encrypted = pass.merging(["KEYWAY_BACKEND": "encrypted"]) { $1 }
        r = try sandbox.run(
            ["login", "flux", "--profile", "prod", "--api-key", "flux_cli_secret_abcdef"], env: encrypted)
        #expect(r.status == 0, "\(r)")
        r = try sandbox.run(["get", "flux", "--profile", "prod"], env: encrypted)
        #expect(r.status == 0 && r.stdout == "flux_cli_secret_abcdef\n", "\(r)")
        r = try sandbox.run(["list", "--json"], env: encrypted)
        #expect(
            r.status == 0 && r.stdout.contains("\"backend\": \"encrypted\"") && !r.stdout.contains("flux_cli_secret"),
            "\(r)")
        #expect(try !contains(vault, "flux_cli_secret") && !contains(vault, "flux"))
        // The wrong passphrase: exit 2, not printed.
        r = try sandbox.run(
            ["get", "flux", "--profile", "prod"], env: encrypted.merging(["KEYWAY_PASSPHRASE": "guess one"]) { $1 })
        #expect(r.status == 2 && r.stderr.contains("Wrong passphrase") && !r.stderr.contains("guess one"), "\(r)")
        // A key for a passphrase vault: the method error even though KEYWAY_PASSPHRASE is right.
        r = try sandbox.run(
            ["get", "flux", "--profile", "prod"],
            env: encrypted.merging(["KEYWAY_VAULT_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="]) { $1 })
        #expect(r.status == 2 && r.stderr.contains("created to be opened with a passphrase"), "\(r)")
        // Rekey to a new passphrase from KEYWAY_NEW_PASSPHRASE.
        r = try sandbox.run(
            ["vault", "rekey"] + cheap, env: pass.merging(["KEYWAY_NEW_PASSPHRASE": "second passphrase"]) { $1 })
        #expect(r.status == 0, "\(r)")
        r = try sandbox.run(["get", "flux", "--profile", "prod"], env: encrypted)
        #expect(r.status == 2, "the old passphrase no longer opens it: \(r)")
        r = try sandbox.run(
            ["get", "flux", "--profile", "prod"],
            env: encrypted.merging(["KEYWAY_PASSPHRASE": "second passphrase"]) { $1 })
        #expect(r.status == 0 && r.stdout == "flux_cli_secret_abcdef\n", "\(r)")
        // Rekey with no new passphrase and no terminal: refused, vault unchanged.
        let before = try readFile(vault)
        r = try sandbox.run(
            ["vault", "rekey"] + cheap, env: ["KEYWAY_VAULT_FILE": vault, "KEYWAY_PASSPHRASE": "second passphrase"])
        #expect(r.status == 2 && r.stderr.contains("KEYWAY_NEW_PASSPHRASE"), "\(r)")
        #expect(try readFile(vault) == before)
        // A cost above the cap is refused, as a usage error (review item 22).
        r = try sandbox.run(
            ["vault", "init", "--argon2-mem-mib", "4096"],
            env: ["KEYWAY_VAULT_FILE": sandbox.root + "/x.vault", "KEYWAY_PASSPHRASE": "p"])
        #expect(r.status == 64 && r.stderr.contains("accepted range"), "\(r)")
        #expect(try readFile(sandbox.root + "/x.vault") == nil)
    }

    @Test func damagedVaultsGiveDistinctErrors() throws {
        let sandbox = try Sandbox()
        let keyFile = sandbox.root + "/vault.key"
        #expect(try sandbox.run(["vault", "init", "--key-file", keyFile]).status == 0)
        let env = ["KEYWAY_BACKEND": "encrypted", "KEYWAY_VAULT_KEY_FILE": keyFile]
        #expect(try sandbox.run(["login", "app", "--api-key", "app-secret-123456"], env: env).status == 0)
        let path = vaultFile(sandbox)
        let good = try #require(try readFile(path))
        let cases: [(String, [UInt8])] = [
            ("is not a Keyway vault", Array("{}".utf8)),
            ("is truncated", Array(good[0..<60])),
            ("is corrupted or was modified", good[0..<(good.count - 1)] + [good[good.count - 1] ^ 1]),
            ("does not support", Array(good[0..<8]) + [9, 0] + Array(good[10...])),
        ]
        for (message, bytes) in cases {
            try writeFile(path, bytes, mode: 0o600)
            let r = try sandbox.run(["get", "app"], env: env)
            #expect(r.status == 2 && r.stderr.contains(message), "\(message): \(r)")
        }
    }
}
