import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

// Regression tests for the second review's D1-D7 (import --remove, migrate, logout and login under several backends).

@Suite struct ImportRemoveSafetyTests {
    /// D1: the tool file is replaced (rotated) while import is writing the store: it is not removed.
    @Test func aFileReplacedDuringTheImportIsKept() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let file = sandbox.home + "/.config/reflex/credentials.json"
        try makeFile(file, "{\"api_key\": \"rfx_OLDkeyAAAA1111bbbb2222\"}\n")
        // Hold the store's lock, so the import stops at its write, after it has read the tool file.
        try FileManager.default.createDirectory(
            atPath: sandbox.configDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let lock = open(sandbox.credentialsFile + ".lock", O_RDWR | O_CREAT, 0o600)
        try #require(lock >= 0)
        try Sys.lockExclusive(lock)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: keywayBinary)
        process.arguments = ["import", "reflex", "--remove"]
        process.environment = sandbox.environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Wait until it has opened the lock file (it is then past reading the tool file).
        let fdDirectory = "/proc/\(process.processIdentifier)/fd"
        do {
            try waitUntil("the import to reach the store's lock (open \(sandbox.credentialsFile).lock)", timeout: 20) {
                ((try? FileManager.default.contentsOfDirectory(atPath: fdDirectory)) ?? []).contains { name in
                    (try? FileManager.default.destinationOfSymbolicLink(atPath: fdDirectory + "/" + name))
                        == sandbox.credentialsFile + ".lock"
                }
            }
        } catch {
            Issue.record(error)  // and go on: releasing the lock ends the import
        }
        // Rotated the way editors and tools do: a new file renamed over the old one.
        try makeFile(file + ".new", "{\"api_key\": \"rfx_ROTATEDnewKEY9999zzzz\"}\n")
        #expect(rename(file + ".new", file) == 0)
        close(lock)
        process.waitUntilExit()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 2, "\(stdout)\(stderr)")
        #expect(!stdout.contains("Removed"), "\(stdout)")
        #expect(stderr.contains("Not removing \(file): it changed while the key was being imported"), "\(stderr)")
        #expect(
            stderr.contains(
                "run keyway logout reflex --profile default --backend plaintext, then keyway import "
                    + "reflex --profile default --remove again"), "\(stderr)")
        #expect(
            try readFile(file).map { String(decoding: $0, as: UTF8.self) }?.contains("rfx_ROTATEDnewKEY9999zzzz")
                == true, "the rotated key is kept")
        // Importing again stores the rotated key and then removes the file.
        let again = try sandbox.run(["import", "reflex", "--remove"])
        #expect(again.status == 1, "the store now holds the old key: a conflict, reported: \(again)")
        #expect(try sandbox.run(["logout", "reflex"]).status == 0)
        let third = try sandbox.run(["import", "reflex", "--remove"])
        #expect(third.status == 0 && third.stdout.contains("Removed \(file)."), "\(third)")
        #expect(try sandbox.run(["get", "reflex"]).stdout == "rfx_ROTATEDnewKEY9999zzzz\n")
    }

    /// D2: a different key already in the store is not replaced by the tool file's.
    @Test func aDifferentStoredKeyIsNotReplaced() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        #expect(try sandbox.run(["login", "reflex", "--api-key", "rfx_NEWERstore9999zzzz8888"]).status == 0)
        let file = sandbox.home + "/.config/reflex/credentials.json"
        try makeFile(file, "{\"api_key\": \"rfx_OLDfile1111aaaa2222\"}\n")
        let result = try sandbox.run(["import", "reflex", "--remove"])
        #expect(result.status == 1, "\(result)")
        #expect(result.stdout == "")
        #expect(
            result.stderr.contains(
                "Not imported: the plaintext store (\(sandbox.credentialsFile)) already holds a different key for reflex "
                    + "(profile default)"), "\(result)")
        #expect(result.stderr.contains("than \(file)") && result.stderr.contains("keyway logout reflex"), "\(result)")
        #expect(
            !result.stderr.contains("rfx_NEWERstore9999zzzz8888") && !result.stderr.contains("rfx_OLDfile1111aaaa2222"))
        #expect(FileManager.default.fileExists(atPath: file))
        #expect(try sandbox.run(["get", "reflex", "--backend", "plaintext"], removing: []).status == 0)
        #expect(try sandbox.run(["list", "--json"]).stdout.contains("rfx_...8888"))
        // The same key: nothing to lose, the import goes on.
        try makeFile(file, "{\"api_key\": \"rfx_NEWERstore9999zzzz8888\"}\n")
        let same = try sandbox.run(["import", "reflex", "--remove"])
        #expect(same.status == 0 && same.stdout.contains("Removed \(file)."), "\(same)")
    }

    /// D3: a symlinked tool file (dotfiles) is not "removed" by deleting the link while the key stays in the target.
    @Test func aSymlinkedToolFileIsNotRemoved() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let target = sandbox.home + "/dotfiles/reflex.json"
        try makeFile(target, "{\"api_key\": \"rfx_LINKEDkeyAAAA1111bbbb\"}\n")
        let link = sandbox.home + "/.config/reflex/credentials.json"
        try FileManager.default.createDirectory(
            atPath: sandbox.home + "/.config/reflex", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let result = try sandbox.run(["import", "reflex", "--remove"])
        #expect(result.status == 2, "\(result)")
        #expect(result.stdout.contains("Imported the key for reflex (profile default) from \(link)"), "\(result)")
        #expect(
            result.stderr.contains(
                "Imported, but not removing \(link): it is a symbolic link to \(target), which holds the key"),
            "\(result)")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == target, "the link stays")
        #expect(FileManager.default.fileExists(atPath: target), "the target stays")
        #expect(try sandbox.run(["get", "reflex", "--backend", "plaintext"]).stdout == "rfx_LINKEDkeyAAAA1111bbbb\n")
    }

    /// D4: a FluxLoop file holding anything besides the imported keys is kept, saying what else it holds.
    @Test(arguments: [
        ("# written by fluxloop\nprofiles:\n  default:\n    api_key: flux_dev_aaaa1111bbbb\n", "a '#'"),
        (
            "default_profile: prod\nprofiles:\n  default:\n    api_key: flux_dev_aaaa1111bbbb\n",
            "the top-level entry 'default_profile'"
        ),
        (
            "profiles:\n  default:\n    api_key: flux_dev_aaaa1111bbbb\n    endpoint: https://eu.fluxloop.example\n",
            "the field 'endpoint' of the profile default"
        ),
        (
            "profiles:\n  default:\n    api_key: flux_dev_aaaa1111bbbb\n  staging:\n    account: ops@example.com\n",
            "the profile staging, which holds no key"
        ),
    ])
    func aFluxLoopFileWithOtherDataIsKept(text: String, named: String) throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let file = sandbox.home + "/.fluxloop/credentials"
        try makeFile(file, text)
        let result = try sandbox.run(["import", "fluxloop", "--remove"])
        #expect(result.status == 2, "\(result)")
        #expect(
            result.stderr.contains("Imported, but not removing \(file): besides the key now in the plaintext store"),
            "\(result)")
        #expect(result.stderr.contains(named), "\(result)")
        #expect(result.stderr.contains("Remove the key from \(file) by hand"), "\(result)")
        #expect(try readFile(file) == Array(text.utf8), "the file is untouched")
        #expect(try sandbox.run(["get", "fluxloop", "--backend", "plaintext"]).stdout == "flux_dev_aaaa1111bbbb\n")
    }

    /// D4 for a JSON tool file: a field Keyway does not store keeps the file.
    @Test func aReflexFileWithAnotherFieldIsKept() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let file = sandbox.home + "/.config/reflex/credentials.json"
        try makeFile(file, "{\"api_key\": \"rfx_FIELDkeyAAAA1111bbbb\", \"endpoint\": \"https://eu.example\"}\n")
        let result = try sandbox.run(["import", "reflex", "--remove"])
        #expect(result.status == 2 && result.stderr.contains("the field 'endpoint'"), "\(result)")
        #expect(FileManager.default.fileExists(atPath: file))
    }
}

@Suite struct AutoLogoutTests {
    /// Under auto, logout reads every backend before removing: an entry that cannot be read (a key breaking the key
    /// rules) is still removed, as its error advises, and a store that cannot be parsed stops it before anything goes.
    @Test func aBrokenEntryIsRemovedAndABrokenStoreRemovesNothing() throws {
        let sandbox = try Sandbox()
        let env = ["KEYWAY_BACKEND": "auto"]
        try makeFile(
            sandbox.credentialsFile,
            """
            {"format": "keyway-credentials", "version": 1, "credentials": [
              {"app": "reflex", "profile": "default", "api_key": "rfx_\(String(repeating: "Q7", count: 40_000))"}
            ]}
            """)
        let logout = try sandbox.run(["logout", "reflex"], env: env)
        #expect(logout.status == 0, "\(logout)")
        #expect(try sandbox.run(["list"], env: env).stdout.hasPrefix("No credentials stored"))
        // A vault (auto reads it before the plaintext file) and a plaintext file that cannot be parsed.
        let keyFile = sandbox.root + "/vault.key"
        #expect(try sandbox.run(["vault", "init", "--key-file", keyFile]).status == 0)
        let vault = env.merging(["KEYWAY_VAULT_KEY_FILE": keyFile]) { $1 }
        #expect(try sandbox.run(["login", "reflex", "--api-key", "rfx_VAULTkeyAAAA1111bbbb"], env: vault).status == 0)
        try makeFile(sandbox.credentialsFile, "{ not json")
        let broken = try sandbox.run(["logout", "reflex"], env: vault)
        #expect(broken.status == 2, "\(broken)")
        #expect(broken.stderr.contains("Nothing was removed from any store"), "\(broken)")
        #expect(
            try sandbox.run(["get", "reflex", "--backend", "encrypted"], env: vault).stdout
                == "rfx_VAULTkeyAAAA1111bbbb\n", "the vault's copy (in use) stays")
    }
}

@Suite struct OtherBackendWinsTests {
    /// D7: login and logout with --backend name the other backend's copy that `get` (auto) uses.
    @Test func loginAndLogoutNameTheOtherBackendsCopy() throws {
        let sandbox = try Sandbox()
        let keyFile = sandbox.root + "/vault.key"
        #expect(try sandbox.run(["vault", "init", "--key-file", keyFile]).status == 0)
        let env = ["KEYWAY_VAULT_KEY_FILE": keyFile]
        #expect(try sandbox.run(["login", "reflex", "--api-key", "rfx_VAULTnewAAAA1111bbbb"], env: env).status == 0)
        let login = try sandbox.run(
            ["login", "reflex", "--backend", "plaintext", "--api-key", "rfx_PLAINoldBBBB2222cccc"], env: env)
        #expect(login.status == 0, "\(login)")
        #expect(
            login.stderr.contains(
                "The encrypted store (\(sandbox.configDirectory)/credentials.vault) holds another key for reflex (profile "
                    + "default), and keyway get reflex without --backend reads that copy, not the plaintext store's"),
            "\(login)")
        #expect(login.stderr.contains("keyway logout reflex --profile default --backend encrypted"), "\(login)")
        #expect(!login.stderr.contains("rfx_VAULT") && !login.stderr.contains("rfx_PLAIN"))
        #expect(try sandbox.run(["get", "reflex"], env: env).stdout == "rfx_VAULTnewAAAA1111bbbb\n")
        let logout = try sandbox.run(["logout", "reflex", "--backend", "encrypted"], env: env)
        #expect(logout.status == 0, "\(logout)")
        #expect(
            logout.stderr.contains(
                "keyway get reflex (without --backend) still returns a key for reflex (profile default): the plaintext "
                    + "store (\(sandbox.credentialsFile)) holds one, which is now the copy in use"), "\(logout)")
        #expect(logout.stderr.contains("keyway logout reflex --profile default --backend plaintext"), "\(logout)")
        #expect(try sandbox.run(["get", "reflex"], env: env).stdout == "rfx_PLAINoldBBBB2222cccc\n")
        // Nothing shadowed: nothing said.
        let clean = try sandbox.run(["logout", "reflex", "--backend", "plaintext"], env: env)
        #expect(clean.status == 0 && clean.stderr == "", "\(clean)")
    }
}

@Suite(
    .enabled(
        if: KeyringCLI.enabled,
        "Keyring tests need a private Secret Service: run `scripts/with-keyring swift test` (they never use your own keyring)."
    ))
struct MultiBackendKeyringTests {
    /// D5: a credential with different copies in two sources is moved from neither: the copy in use stays in use.
    @Test func migrateLeavesEveryCopyOfAConflictingCredential() throws {
        let sandbox = try Sandbox()
        let app = KeyringCLI.app("migconflict")
        let keyFile = sandbox.root + "/vault.key"
        #expect(try sandbox.run(["vault", "init", "--key-file", keyFile]).status == 0)
        let env = KeyringCLI.busEnvironment.merging(["KEYWAY_VAULT_KEY_FILE": keyFile]) { $1 }
        #expect(
            try sandbox.run(["login", app, "--backend", "keyring"], env: env, stdin: "KEYRINGinUSEaaaa1111").status == 0
        )
        #expect(
            try sandbox.run(["login", app, "--backend", "encrypted"], env: env, stdin: "VAULTshadowBBBB2222").status
                == 0)
        #expect(try sandbox.run(["get", app], env: env).stdout == "KEYRINGinUSEaaaa1111\n")
        let migrate = try sandbox.run(["migrate", "--to", "plaintext", "--app", app], env: env)
        #expect(migrate.status == 1, "\(migrate)")
        #expect(
            migrate.stderr.contains(
                "Left \(app) (profile default) in the keyring store: the encrypted store holds a "
                    + "different key"), "\(migrate)")
        #expect(
            migrate.stderr.contains("Left \(app) (profile default) in the encrypted store: the keyring store"),
            "\(migrate)")
        #expect(
            try sandbox.run(["get", app], env: env).stdout == "KEYRINGinUSEaaaa1111\n", "the key in use is unchanged")
        #expect(try sandbox.run(["get", app, "--backend", "encrypted"], env: env).stdout == "VAULTshadowBBBB2222\n")
        #expect(try sandbox.run(["get", app, "--backend", "plaintext"], env: env).status == 1, "nothing was moved")
        // With one copy left, it is moved, and the key in use stays the same.
        #expect(try sandbox.run(["logout", app, "--backend", "encrypted"], env: env).status == 0)
        let keyring = try sandbox.run(["list", "--backend", "keyring", "--json"], env: env)
        #expect(keyring.status == 0, "\(keyring)")
        let moved = try sandbox.run(["migrate", "--to", "plaintext", "--app", app], env: env)
        #expect(moved.status == 0 && moved.stdout.contains("1 credential now in the plaintext store"), "\(moved)")
        #expect(try sandbox.run(["get", app], env: env).stdout == "KEYRINGinUSEaaaa1111\n")
    }

    /// D6: under auto, a backend that cannot be read (a wrong passphrase) stops logout before anything is removed.
    @Test func logoutRemovesNothingWhenOneBackendCannotBeRead() throws {
        let sandbox = try Sandbox()
        let app = KeyringCLI.app("logoutall")
        var env = KeyringCLI.busEnvironment
        env["KEYWAY_PASSPHRASE"] = "right-passphrase"
        let initialized = try sandbox.run(["vault", "init", "--argon2-ops", "1", "--argon2-mem-mib", "8"], env: env)
        #expect(initialized.status == 0, "\(initialized)")
        for (backend, key) in [
            ("keyring", "KEYRINGkey0123456789"), ("encrypted", "VAULTkey0123456789"),
            ("plaintext", "PLAINkey0123456789"),
        ] {
            #expect(try sandbox.run(["login", app, "--backend", backend], env: env, stdin: key).status == 0)
        }
        let wrong = try sandbox.run(["logout", app], env: env.merging(["KEYWAY_PASSPHRASE": "wrong"]) { $1 })
        #expect(wrong.status == 2, "\(wrong)")
        #expect(wrong.stderr.contains("Nothing was removed from any store"), "\(wrong)")
        #expect(
            try sandbox.run(["get", app], env: env).stdout == "KEYRINGkey0123456789\n", "the key in use is unchanged")
        for backend in ["keyring", "encrypted", "plaintext"] {
            #expect(
                try sandbox.run(["get", app, "--backend", backend], env: env).status == 0, "\(backend) keeps its copy")
        }
        let all = try sandbox.run(["logout", app, "--all"], env: env.merging(["KEYWAY_PASSPHRASE": "wrong"]) { $1 })
        #expect(all.status == 2 && all.stderr.contains("Nothing was removed from any store"), "\(all)")
        #expect(try sandbox.run(["get", app], env: env).stdout == "KEYRINGkey0123456789\n")
        // With the right passphrase every copy goes.
        let right = try sandbox.run(["logout", app], env: env)
        #expect(right.status == 0, "\(right)")
        #expect(try sandbox.run(["get", app], env: env).status == 1)
    }
}
