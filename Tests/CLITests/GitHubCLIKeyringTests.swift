import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

/// gh's keyring items, written the way gh writes them (zalando/go-keyring's keyring_unix.go: attributes `service`
/// and `username` only, label "Password for 'USER' on 'SERVICE'", in the `login` collection, else the default one),
/// read by the gh spec's `keyring` sources through the built binary. Each test has a gnome-keyring of its own (the
/// items are gh's fixed `gh:HOST` ones, which tests running side by side would otherwise share).
@Suite(
    .enabled(
        if: KeyringCLI.enabled,
        "Keyring tests need a private Secret Service: run `scripts/with-keyring swift test` (they never use your own keyring)."
    ))
struct GitHubCLIKeyringTests {
    /// The provider under test (`scripts/with-keyring --provider NAME`); the lock test uses gnome-keyring's locking.
    static let provider = KeyringCLI.process["KEYWAY_TEST_PROVIDER"] ?? "gnome-keyring"

    static let goKeyringSet = #"""
        import sys, secretstorage
        bus = secretstorage.dbus_init()
        try:
            collection = secretstorage.Collection(bus, "/org/freedesktop/secrets/collection/login")
            collection.is_locked()
        except Exception:
            collection = secretstorage.get_default_collection(bus)
        service, user = sys.argv[1], sys.argv[2]
        collection.create_item("Password for '%s' on '%s'" % (user, service),
                               {"username": user, "service": service}, sys.stdin.buffer.read(), replace=True,
                               content_type="text/plain; charset=utf-8")
        """#

    /// Stores `token` as gh does for `host` and `user` ("" is the active account's item); python's write is run again
    /// when it fails (`repeatedWhileFailing`: under KWallet it did, in a run of these tests 2026-12-02).
    static func ghStore(_ keyring: PrivateProvider, host: String = "github.com", user: String, _ token: String) throws {
        let stored = try repeatedWhileFailing {
            try keyring.run(["/usr/bin/python3", "-c", goKeyringSet, "gh:" + host, user], stdin: token)
        }
        try #require(stored.status == 0, "\(stored)")
    }

    static func hostsFile(_ sandbox: Sandbox, _ text: String) throws {
        let directory = sandbox.home + "/.config/gh"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try writeFile(directory + "/hosts.yml", text, mode: 0o600)
    }

    /// `keyway resolve gh --json`'s layers, as (name, status).
    static func layers(_ result: RunResult) throws -> [(name: String, status: String, detail: String)] {
        guard case .array(let layers)? = try JSON.parse(result.stdout)["layers"] else {
            Issue.record("no layers: \(result)")
            return []
        }
        return layers.map {
            ($0["name"]?.stringValue ?? "", $0["status"]?.stringValue ?? "", $0["detail"]?.stringValue ?? "")
        }
    }

    static let active = #"service="gh:github.com" username="""#

    @Test func precedenceIsEnvironmentThenHostsFileThenKeyringItemThenStore() throws {
        let keyring = try PrivateProvider(Self.provider)
        let sandbox = try Sandbox(backend: "keyring")
        let env = keyring.environment
        #expect(
            try sandbox.run(["login", "gh"], env: env, stdin: "ghp_store0000000000000000000000000000000").status == 0)
        #expect(try sandbox.run(["get", "gh"], env: env).stdout == "ghp_store0000000000000000000000000000000\n")
        try Self.ghStore(keyring, user: "", "gho_keyring00000000000000000000000000000")
        try Self.ghStore(keyring, user: "octocat", "gho_octocat00000000000000000000000000000")
        #expect(try sandbox.run(["get", "gh"], env: env).stdout == "gho_keyring00000000000000000000000000000\n")
        let resolve = try sandbox.run(["resolve", "gh", "--json"], env: env)
        #expect(resolve.status == 0, "\(resolve)")
        #expect(!resolve.stdout.contains("gho_keyring0000000000") && !resolve.stderr.contains("keyring00000"))
        let layers = try Self.layers(resolve)
        #expect(layers.first { $0.name == Self.active }?.status == "found", "\(layers)")
        #expect(layers.last?.status == "shadowed", "the store comes last: \(layers)")
        let itemIndex = try #require(layers.map(\.name).firstIndex(of: Self.active), "\(layers)")
        let hostsIndex = try #require(layers.map(\.name).firstIndex { $0.hasSuffix("/hosts.yml") }, "\(layers)")
        #expect(itemIndex > hostsIndex, "hosts.yml's oauth_token comes first: \(layers)")
        try Self.hostsFile(
            sandbox, "github.com:\n  user: octocat\n  oauth_token: gho_hostsfile000000000000000000000000000\n")
        #expect(try sandbox.run(["get", "gh"], env: env).stdout == "gho_hostsfile000000000000000000000000000\n")
        #expect(
            try sandbox.run(
                ["get", "gh"],
                env: env.merging(["GH_TOKEN": "ghp_envtoken000000000000000000000000000"]) {
                    $1
                }
            ).stdout == "ghp_envtoken000000000000000000000000000\n")
        let text = try sandbox.run(["resolve", "gh"], env: env)
        #expect(!text.stdout.contains("gho_hostsfile0000") && !text.stdout.contains("gho_keyring0000"), "\(text)")
    }

    @Test func ghHostSelectsThatHostsItem() throws {
        let keyring = try PrivateProvider(Self.provider)
        let sandbox = try Sandbox(backend: "keyring")
        let env = keyring.environment
        try Self.ghStore(keyring, host: "ghe.example.com", user: "", "gho_enterprise000000000000000000000000000")
        let none = try sandbox.run(["get", "gh"], env: env)
        #expect(none.status == 1 && none.stdout.isEmpty, "github.com has no item: \(none)")
        let ghe = env.merging(["GH_HOST": "ghe.example.com"]) { $1 }
        #expect(try sandbox.run(["get", "gh"], env: ghe).stdout == "gho_enterprise000000000000000000000000000\n")
        let layers = try Self.layers(try sandbox.run(["resolve", "gh", "--json"], env: ghe))
        #expect(
            layers.contains {
                $0.name == #"service="gh:ghe.example.com" username="""# && $0.status == "found"
                    && $0.detail.contains("host from GH_HOST")
            }, "\(layers)")
    }

    /// The active account's item (username "") is the default profile's; an account's own item is profile NAME's,
    /// read before hosts.yml's users.NAME.oauth_token as gh's TokenForUser does.
    @Test func activeItemIsTheDefaultProfileAndAnAccountsItemItsProfile() throws {
        let keyring = try PrivateProvider(Self.provider)
        let sandbox = try Sandbox(backend: "keyring")
        let env = keyring.environment
        try Self.ghStore(keyring, user: "octocat", "gho_octocat00000000000000000000000000000")
        let noActive = try sandbox.run(["get", "gh"], env: env)
        #expect(noActive.status == 1, "an account's item is not the active one: \(noActive)")
        try Self.ghStore(keyring, user: "", "gho_active000000000000000000000000000000")
        #expect(try sandbox.run(["get", "gh"], env: env).stdout == "gho_active000000000000000000000000000000\n")
        #expect(
            try sandbox.run(["get", "gh", "--profile", "octocat"], env: env).stdout
                == "gho_octocat00000000000000000000000000000\n")
        try Self.hostsFile(
            sandbox,
            "github.com:\n  user: octocat\n  users:\n    octocat:\n      oauth_token: gho_usersentry0000000000000000000000000\n"
                + "    hubot:\n      oauth_token: gho_hubot000000000000000000000000000000\n")
        #expect(
            try sandbox.run(["get", "gh", "--profile", "octocat"], env: env).stdout
                == "gho_octocat00000000000000000000000000000\n", "the account's item comes before hosts.yml")
        #expect(
            try sandbox.run(["get", "gh", "--profile", "hubot"], env: env).stdout
                == "gho_hubot000000000000000000000000000000\n")
        let layers = try Self.layers(try sandbox.run(["resolve", "gh", "--json"], env: env))
        #expect(
            layers.contains {
                $0.name == #"service="gh:github.com" username="{profile}""# && $0.status == "skipped"
            }, "\(layers)")
    }

    @Test func lockedCollectionIsReportedLockedNotMissing() throws {
        let keyring = try PrivateProvider("gnome-keyring")
        let sandbox = try Sandbox(backend: "keyring")
        try Self.ghStore(keyring, user: "", "gho_locked000000000000000000000000000000")
        try keyring.lockDefaultCollection()
        let get = try sandbox.run(["get", "gh"], env: keyring.environment)
        #expect(get.status == 2 && get.stderr.contains("is locked"), "\(get)")
        #expect(!get.stdout.contains("gho_locked"))
        let resolve = try sandbox.run(["resolve", "gh", "--json"], env: keyring.environment)
        let layers = try Self.layers(resolve)
        #expect(
            layers.contains { $0.name == Self.active && $0.status == "error" && $0.detail.contains("is locked") },
            "\(layers)")
        #expect(!layers.contains { $0.status == "missing" && $0.name.hasPrefix("service=") }, "\(layers)")
    }

    @Test func noKeyringUnderAutoAndAFileBackendAreSkippedWithWhy() throws {
        let sandbox = try Sandbox()
        let bus = try PrivateBus()  // a bus with no Secret Service on it
        let auto = try sandbox.run(
            ["resolve", "gh", "--json"], env: ["DBUS_SESSION_BUS_ADDRESS": bus.address],
            removing: ["XDG_RUNTIME_DIR"])
        #expect(auto.status == 1, "\(auto)")
        let layers = try Self.layers(auto)
        #expect(
            layers.contains { $0.name == Self.active && $0.status == "skipped" && $0.detail.contains("no keyring") },
            "\(layers)")
        let plain = try Self.layers(try sandbox.run(["resolve", "gh", "--json", "--backend", "plaintext"]))
        #expect(
            plain.contains {
                $0.name == Self.active && $0.status == "skipped" && $0.detail.contains("plaintext store is in use")
            }, "\(plain)")
    }

    /// `keyway status` lists gh's key from its item; `keyway import gh` refuses it (gh keeps it there).
    @Test func statusShowsTheItemAndImportRefusesIt() throws {
        let keyring = try PrivateProvider(Self.provider)
        let sandbox = try Sandbox(backend: "keyring")
        let env = keyring.environment
        try Self.ghStore(keyring, user: "", "gho_status000000000000000000000000000000")
        let status = try sandbox.run(["status", "gh"], env: env)
        #expect(status.stdout.contains("keyring item " + Self.active), "\(status)")
        #expect(!status.stdout.contains("gho_status0000"))
        let imported = try sandbox.run(["import", "gh"], env: env)
        #expect(imported.status == 1 && imported.stderr.contains("gh's own keyring item"), "\(imported)")
        #expect(try sandbox.run(["get", "gh"], env: env).stdout == "gho_status000000000000000000000000000000\n")
        let list = try sandbox.run(["list", "--json"], env: env)
        #expect(!list.stdout.contains("\"gh\""), "nothing was copied into Keyway's store: \(list)")
    }
}
