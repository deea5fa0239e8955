import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

/// Keyring CLI tests. Those on the shared test keyring need `scripts/with-keyring` (KEYWAY_TEST_KEYRING=1) or CI;
/// those that lock a keyring start their own private bus and gnome-keyring, so locking never disturbs other tests.
enum KeyringCLI {
    static let process = ProcessInfo.processInfo.environment
    static let enabled = process["KEYWAY_TEST_KEYRING"] == "1" || process["CI"] == "true"
    static let counter = Counter()
    static func app(_ name: String) -> String { "keyway-cli-\(name)-\(getpid())-\(counter.next())" }

    /// The profiles of `app` in the output of `keyway list --json` (nil, with an issue recorded, when it has none).
    static func listedProfiles(_ list: RunResult, app: String) throws -> Set<String>? {
        guard case .array(let credentials)? = try JSON.parse(list.stdout)["credentials"] else {
            Issue.record("no credentials: \(list)")
            return nil
        }
        return Set(credentials.filter { $0["app"] == .string(app) }.compactMap { $0["profile"]?.stringValue })
    }

    /// The variables that lead a child process to the test keyring.
    static var busEnvironment: [String: String] {
        var values: [String: String] = [:]
        for name in ["DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"] { values[name] = process[name] }
        return values
    }
}

extension PrivateProvider {
    /// Runs a program on this provider's bus (no display: nothing can prompt).
    func run(_ arguments: [String], stdin: String? = nil) throws -> RunResult {
        var environment = ProcessInfo.processInfo.environment.merging(self.environment) { $1 }
        environment["DISPLAY"] = nil
        environment["WAYLAND_DISPLAY"] = nil
        return try runProcess("/usr/bin/env", arguments, environment: environment, stdin: stdin)
    }
}

@Suite(
    .enabled(
        if: KeyringCLI.enabled,
        "Keyring tests need a private Secret Service: run `scripts/with-keyring swift test` (they never use your own keyring)."
    ))
struct KeyringCLITests {
    /// Listing reads every matching item's properties with several calls in flight; they share one reply context,
    /// so a keyring with many items does not cost a file descriptor per item (120 items under a limit of 64).
    @Test func listsManyItemsUnderALowDescriptorLimit() throws {
        let sandbox = try Sandbox()
        let app = KeyringCLI.app("many")
        let count = 120
        let stored = try runProcess(
            "/usr/bin/python3",
            [
                "-c",
                // Each item is stored again when python keyring trips over KWallet's session bug ("Can't find
                // session"), which is not under test here.
                "import keyring, sys\nfor i in range(int(sys.argv[2])):\n    for attempt in range(3):\n"
                    + "        try:\n"
                    + "            keyring.set_password(sys.argv[1], 'p%d' % i, 'many_key_%d_0123456789' % i)\n"
                    + "            break\n"
                    + "        except Exception:\n"
                    + "            if attempt == 2: raise",
                app, String(count),
            ],
            environment: ProcessInfo.processInfo.environment)
        try #require(stored.status == 0, "\(stored)")
        let list = try runProcess(
            "/bin/sh",
            ["-c", "ulimit -n 64 && exec \"$0\" \"$@\"", keywayBinary, "list", "--json", "--backend", "keyring"],
            environment: sandbox.environment.merging(KeyringCLI.busEnvironment) { $1 })
        #expect(list.status == 0, "\(list)")
        guard let profiles = try KeyringCLI.listedProfiles(list, app: app) else { return }
        #expect(profiles == Set((0..<count).map { "p\($0)" }), "\(profiles.count) of \(count)")
        #expect(!list.stdout.contains("many_key_"), "list masks keys")
    }

    @Test func autoWritesToTheKeyringWhenOneAnswers() throws {
        let sandbox = try Sandbox()
        let app = KeyringCLI.app("auto")
        let env = KeyringCLI.busEnvironment
        let login = try sandbox.run(
            ["login", app, "--account", "me@example.com"], env: env, stdin: "auto_key_0123456789")
        #expect(login.status == 0, "\(login)")
        #expect(login.stdout.contains("in the keyring store"), "\(login)")
        #expect(!login.stderr.contains("UNENCRYPTED"), "no plaintext warning when the keyring is used")
        #expect(!FileManager.default.fileExists(atPath: sandbox.credentialsFile), "nothing written in plaintext")
        // secret-tool's own read, repeated while it misses (a provider's read flake, see `repeatedWhileFailing`).
        let lookup = try repeatedWhileFailing(until: { $0.stdout == "auto_key_0123456789" }) {
            try runProcess(
                "/usr/bin/env", ["secret-tool", "lookup", "service", app, "username", "default"],
                environment: ProcessInfo.processInfo.environment)
        }
        #expect(lookup.stdout == "auto_key_0123456789")
        let get = try sandbox.run(["get", app, "--backend", "keyring"], env: env)
        #expect(get.stdout == "auto_key_0123456789\n", "\(get)")
        let status = try sandbox.run(["status", app], env: env)
        #expect(status.stdout.contains("keyring store"), "the source names the keyring: \(status)")
    }

    @Test func autoFallsBackToPlaintextWithAWarningWithoutABus() throws {
        let sandbox = try Sandbox()
        let app = KeyringCLI.app("fallback")
        let login = try sandbox.run(["login", app], stdin: "plain_key_0123456789")
        #expect(login.status == 0, "\(login)")
        #expect(login.stderr.contains("Warning: No keyring is usable here"), "\(login)")
        #expect(login.stderr.contains("stored UNENCRYPTED in \(sandbox.credentialsFile)"), "\(login)")
        #expect(login.stderr.contains("--backend plaintext"), "says how to accept it")
        #expect(login.stdout.contains("in the plaintext store"), "\(login)")
        let explicit = try sandbox.run(["login", app, "--backend", "plaintext"], stdin: "plain_key_0123456789")
        #expect(!explicit.stderr.contains("UNENCRYPTED"), "an explicit plaintext choice is not warned about")
        #expect(try sandbox.run(["get", app]).stdout == "plain_key_0123456789\n")
    }

    @Test func readsLookInEveryBackendAndLogoutRemovesFromAll() throws {
        let sandbox = try Sandbox()
        let app = KeyringCLI.app("both")
        let env = KeyringCLI.busEnvironment
        #expect(try sandbox.run(["login", app, "--backend", "plaintext"], stdin: "file_key_0123456789").status == 0)
        let get = try sandbox.run(["get", app], env: env)
        #expect(get.stdout == "file_key_0123456789\n", "auto reads the plaintext file when the keyring has none")
        #expect(try sandbox.run(["logout", app], env: env).status == 0)
        #expect(try sandbox.run(["get", app], env: env).status == 1)
    }

    @Test func backendsReportsEachBackend() throws {
        let sandbox = try Sandbox()
        let json = try sandbox.run(["backends", "--json"], env: KeyringCLI.busEnvironment)
        #expect(json.status == 0, "\(json)")
        let root = try JSON.parse(json.stdout)
        #expect(root["auto_writes_to"] == .string("keyring"))
        guard case .array(let backends)? = root["backends"] else {
            Issue.record("no backends array: \(json.stdout)")
            return
        }
        #expect(backends.compactMap { $0["name"]?.stringValue } == ["keyring", "encrypted", "plaintext", "openbao"])
        #expect(backends[0]["usable"] == .bool(true))
        let without = try sandbox.run(["backends"])
        #expect(without.stdout.contains("No D-Bus session bus"), "says why the keyring cannot be used: \(without)")
        #expect(without.stdout.contains("plaintext (auto writes here)"), "\(without)")
    }

    @Test func migrateMovesEveryCredentialAndReadsItBack() throws {
        let sandbox = try Sandbox()
        let app = KeyringCLI.app("migrate")
        let env = KeyringCLI.busEnvironment
        for profile in ["a", "b"] {
            let r = try sandbox.run(
                ["login", app, "--profile", profile, "--backend", "plaintext", "--scopes", "read"],
                stdin: "mig_\(profile)_0123456789")
            #expect(r.status == 0, "\(r)")
        }
        let migrate = try sandbox.run(["migrate", "--to", "keyring", "--app", app], env: env)
        #expect(migrate.status == 0, "\(migrate)")
        #expect(migrate.stdout.contains("2 credentials now in the keyring store"), "\(migrate)")
        let file = try sandbox.run(["list", "--backend", "plaintext", "--json"])
        #expect(!file.stdout.contains(app), "removed from the plaintext file")
        for profile in ["a", "b"] {
            let get = try sandbox.run(["get", app, "--profile", profile, "--backend", "keyring"], env: env)
            #expect(get.stdout == "mig_\(profile)_0123456789\n", "\(get)")
        }
        // A different key already in the target is never overwritten.
        #expect(
            try sandbox.run(["login", app, "--profile", "a", "--backend", "plaintext"], stdin: "other_0123456789")
                .status == 0)
        let conflict = try sandbox.run(["migrate", "--to", "keyring", "--app", app], env: env)
        #expect(conflict.status == 1, "\(conflict)")
        #expect(conflict.stderr.contains("Left \(app) (profile a) in the plaintext store"), "\(conflict)")
        #expect(
            try sandbox.run(["get", app, "--profile", "a", "--backend", "keyring"], env: env).stdout
                == "mig_a_0123456789\n")
        #expect(
            try sandbox.run(["get", app, "--profile", "a", "--backend", "plaintext"]).stdout == "other_0123456789\n")
    }

    @Test func lockedCollectionWithoutAPromptIsAnErrorNotAMiss() throws {
        let keyring = try PrivateProvider("gnome-keyring")
        let sandbox = try Sandbox()
        #expect(
            try keyring.run(
                ["secret-tool", "store", "--label=x", "service", "lockapp", "username", "default"],
                stdin: "locked_key_0123456789"
            ).status == 0)
        try keyring.lockDefaultCollection()
        let start = Date()
        let get = try sandbox.run(["get", "lockapp", "--backend", "keyring"], env: keyring.environment)
        #expect(Date().timeIntervalSince(start) < 5)
        #expect(get.status == 2, "an error, not 'not found': \(get)")
        #expect(get.stderr.contains("is locked, and no unlock prompt can be shown here"), "\(get)")
        let write = try sandbox.run(
            ["login", "lockapp2", "--backend", "keyring"], env: keyring.environment, stdin: "k_0123456789")
        #expect(write.status == 2 && write.stderr.contains("is locked"), "\(write)")
        let auto = try sandbox.run(["login", "lockapp3"], env: keyring.environment, stdin: "k_0123456789")
        #expect(auto.status == 2, "auto does not fall back to plaintext behind a locked keyring: \(auto)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.credentialsFile))
        let backends = try sandbox.run(["backends"], env: keyring.environment)
        #expect(backends.stdout.contains("is locked"), "\(backends)")
    }

    /// With a display, Keyway asks for the unlock; here the prompter cannot open the (fake) display and the prompt
    /// ends without unlocking, which the Secret Service reports exactly as a dismissed prompt.
    @Test func dismissedUnlockPromptIsReported() throws {
        let keyring = try PrivateProvider("gnome-keyring", activatable: PrivateBus.gnomeKeyringPrompter)
        let sandbox = try Sandbox()
        #expect(
            try keyring.run(
                ["secret-tool", "store", "--label=x", "service", "dismissapp", "username", "default"],
                stdin: "dismiss_key_0123456789"
            ).status == 0)
        try keyring.lockDefaultCollection()
        var env = keyring.environment
        env["DISPLAY"] = ":97"
        let get = try sandbox.run(["get", "dismissapp", "--backend", "keyring"], env: env)
        #expect(get.status == 2, "\(get)")
        #expect(get.stderr.contains("was dismissed"), "\(get)")
    }
}
