import Foundation
import KeywayCore
import KeywaySecretService
import KeywayTestSupport
import KeywayTesting
import Testing

/// Keyring tests run against a real Secret Service: the private gnome-keyring `scripts/with-keyring` starts (it sets
/// KEYWAY_TEST_KEYRING=1). They never touch the keyring of a desktop session: without KEYWAY_TEST_KEYRING they are
/// skipped, unless CI=true, where they run and fail when no Secret Service answers.
enum KeyringTests {
    static let environment = ProcessInfo.processInfo.environment
    static let enabled = environment["KEYWAY_TEST_KEYRING"] == "1" || environment["CI"] == "true"
    static let counter = Counter()

    /// A unique app name, so tests can share one keyring while running in parallel.
    static func app(_ name: String) -> String { "keyway-test-\(name)-\(getpid())-\(counter.next())" }

    /// The store on the test keyring; records a failure (and stops the test) when no Secret Service answers.
    static func store() throws -> SecretServiceStore {
        let store = SecretServiceStore(environment: .process())
        if case .unreachable(let error) = store.state() {
            let message =
                "No Secret Service for the keyring tests (\(error.code): \(error.message)). Run them "
                + "with `scripts/with-keyring swift test`."
            Issue.record(Comment(rawValue: message))
            throw error
        }
        return store
    }
}

/// Runs a program and returns its exit status and its standard output and error, together.
@discardableResult
func run(_ arguments: [String], stdin: String? = nil, environment: [String: String]? = nil) throws -> (Int32, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    if let environment { process.environment = environment }
    let output = Pipe(), input = Pipe()
    process.standardOutput = output
    process.standardError = output  // secret-tool prints attributes on stderr
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try input.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// `run`, repeated (`repeatedWhileFailing`, 3 runs in all) while `succeeded` says no: for another program's store or
/// lookup, which a provider fails on its own now and then (KWallet's session-key bug, KDE 514194: a read or a write
/// of any client). The last run is returned, so a value that is really missing still fails the test.
func runRepeated(
    _ arguments: [String], stdin: String? = nil, until succeeded: (Int32, String) -> Bool = { status, _ in status == 0 }
) throws -> (Int32, String) {
    try repeatedWhileFailing(until: { succeeded($0.0, $0.1) }) { try run(arguments, stdin: stdin) }
}

@Suite(
    .enabled(
        if: KeyringTests.enabled,
        "Keyring tests need a private Secret Service: run `scripts/with-keyring swift test` (they never use your own keyring)."
    ))
struct SecretServiceStoreTests {
    @Test func conformance() throws {
        _ = try KeyringTests.store()
        try StoreConformance(
            makeStore: { SecretServiceStore(environment: .process()) },
            makeBroken: {
                SecretServiceStore(environment: Environment(["DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent/bus"]))
            }
        ).run()
    }

    @Test func secretToolAndPythonKeyringReadWhatKeywayStored() throws {
        let store = try KeyringTests.store()
        let app = KeyringTests.app("out")
        let credential = Credential(
            id: CredentialID(app: app, profile: "work"), secret: Secret("rfx_interop_0123456789"),
            account: "me@example.com", scopes: ["read"])
        try store.write(credential)
        let (status, looked) = try runRepeated(["secret-tool", "lookup", "service", app, "username", "work"]) {
            $1 == "rfx_interop_0123456789"
        }
        #expect(status == 0)
        #expect(looked == "rfx_interop_0123456789")
        let (pyStatus, python) = try runRepeated([
            "/usr/bin/python3", "-c", "import keyring, sys; print(keyring.get_password(sys.argv[1], 'work'))", app,
        ]) { $1 == "rfx_interop_0123456789\n" }
        #expect(pyStatus == 0)
        #expect(python == "rfx_interop_0123456789\n")
        let (_, search) = try run(["secret-tool", "search", "--all", "service", app])
        #expect(search.contains("label = Keyway: \(app) (work)"), "the label is human-readable")
        #expect(search.contains("attribute.keyway:account = me@example.com"), "metadata kept as attributes")
        #expect(search.contains("attribute.username = work"))
    }

    @Test func keywayReadsWhatSecretToolStored() throws {
        let store = try KeyringTests.store()
        let app = KeyringTests.app("st")
        let (status, _) = try runRepeated(
            ["secret-tool", "store", "--label=from secret-tool", "service", app, "username", "default"],
            stdin: "st_key_0123456789")
        try #require(status == 0)
        let read = try store.read(CredentialID(app: app))
        #expect(read?.secret.reveal() == "st_key_0123456789")
        #expect(read?.account == nil)
        #expect(try store.list(app: app).map(\.id) == [CredentialID(app: app)], "listed under its app")
        #expect(try store.delete(CredentialID(app: app)) == true)
        let (after, _) = try run(["secret-tool", "lookup", "service", app, "username", "default"])
        #expect(after != 0, "deleting through Keyway removes the other tool's item")
    }

    @Test func keywayReadsWhatPythonKeyringStored() throws {
        let store = try KeyringTests.store()
        let app = KeyringTests.app("py")
        let (status, _) = try runRepeated([
            "/usr/bin/python3", "-c",
            "import keyring, sys; keyring.set_password(sys.argv[1], 'ci', 'py_key_0123456789')",
            app,
        ])
        try #require(status == 0)
        #expect(try store.read(CredentialID(app: app, profile: "ci"))?.secret.reveal() == "py_key_0123456789")
        #expect(try store.list().contains { $0.id == CredentialID(app: app, profile: "ci") }, "listed with the rest")
        // Keyway's write replaces the python item rather than adding a second one.
        try store.write(Credential(id: CredentialID(app: app, profile: "ci"), secret: Secret("new_key_0123456789")))
        let (_, python) = try runRepeated([
            "/usr/bin/python3", "-c", "import keyring, sys; print(keyring.get_password(sys.argv[1], 'ci'))", app,
        ]) { $1 == "new_key_0123456789\n" }
        #expect(python == "new_key_0123456789\n")
        let (_, search) = try run(["secret-tool", "search", "--all", "service", app])
        #expect(search.components(separatedBy: "label = ").count == 2, "exactly one item: \(search)")
    }
}

/// Failure states that need no keyring at all: they always run.
@Suite struct SecretServiceFailureTests {
    @Test func noSessionBus() throws {
        let store = SecretServiceStore(environment: Environment(["HOME": "/nonexistent"]))
        let start = Date()
        #expect(throws: KeywayError.self) { try store.read(CredentialID(app: "any")) }
        do {
            _ = try store.read(CredentialID(app: "any"))
        } catch {
            #expect(error.code == .noSessionBus)
            #expect(error.message.contains("No D-Bus session bus"))
        }
        #expect(Date().timeIntervalSince(start) < 3)
        #expect(!store.availability().isAvailable)
    }

    @Test func unreachableBusAddress() throws {
        let store = SecretServiceStore(
            environment: Environment(["DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent/keyway-bus"]))
        do {
            _ = try store.list()
            Issue.record("listing through an unreachable bus must fail")
        } catch {
            #expect(error.code == .noSessionBus)
            #expect(error.message.contains("/nonexistent/keyway-bus"))
        }
    }

    /// A real private bus (no service directories, so nothing can be activated) with no Secret Service on it.
    @Test(.enabled(if: PrivateBus.available))
    func busWithoutProvider() throws {
        let bus = try PrivateBus()
        let address = bus.address
        let store = SecretServiceStore(environment: Environment(["DBUS_SESSION_BUS_ADDRESS": address]))
        let start = Date()
        do {
            _ = try store.read(CredentialID(app: "any"))
            Issue.record("reading through a bus without a Secret Service must fail")
        } catch {
            #expect(error.code == .noSecretService, "\(error.message)")
            #expect(error.message.contains("No Secret Service"))
        }
        #expect(Date().timeIntervalSince(start) < 3, "fails fast instead of waiting for an activation")
        guard case .unavailable(let reason) = store.availability() else {
            Issue.record("availability must say the keyring is unusable")
            return
        }
        #expect(reason.contains("No Secret Service"))
    }
}

/// Deleting an item another program deleted a moment before (between Keyway's search and its delete) is what was
/// wanted, not an error: `keyway import --remove` and git's `erase` used to fail (exit 2) on it, on every provider.
@Suite(
    .enabled(
        if: KeyringTests.enabled,
        "Keyring tests need a private Secret Service: run `scripts/with-keyring swift test` (they never use your own keyring)."
    ))
struct SecretServiceVanishedItemTests {
    @Test func deletingAnItemAlreadyGoneIsNoError() throws {
        let store = try KeyringTests.store()
        let server = KeyringTests.app("gone") + ".example"
        let (status, output) = try runRepeated(
            ["secret-tool", "store", "--label=vanishing", "protocol", "https", "server", server, "user", "u"],
            stdin: "pw-gone")
        #expect(status == 0, "\(output)")
        let items = try store.foreignItems(matching: ["server": server])
        #expect(items.count == 1)
        let path = try #require(items.first).path
        #expect(try store.deleteForeignItem(path: path))
        #expect(try store.deleteForeignItem(path: path) == false)
        #expect(try store.foreignItems(matching: ["server": server]).isEmpty)
    }

    /// Listings while another program removes items one after another: each listing leaves the removed items out
    /// (with a warning) and lists the others; none fails. KWallet fails a whole GetSecrets when one item asked for
    /// is gone, and the listing read the rest again only once, so a second removal during that second read failed
    /// the listing ("Can't find item at path", CI on KWallet, 2026-12-02).
    @Test func listingsWhileItemsKeepVanishingLeaveThemOut() throws {
        let store = try KeyringTests.store()
        let app = KeyringTests.app("churn")
        let count = 80
        for i in 0..<count {
            try store.write(
                Credential(id: CredentialID(app: app, profile: "p\(i)"), secret: Secret("churn_key_\(i)_0123456789")))
        }
        let kept = CredentialID(app: app, profile: "kept")
        try store.write(Credential(id: kept, secret: Secret("churn_kept_0123456789")))
        // The other program: secret-tool removing the items one by one.
        let remover = Process()
        remover.executableURL = URL(fileURLWithPath: "/bin/sh")
        remover.arguments = [
            "-c", "i=0; while [ $i -lt \(count) ]; do secret-tool clear service \"$0\" username p$i; i=$((i+1)); done",
            app,
        ]
        try remover.run()
        var listings = 0
        var failures: [String] = []
        while remover.isRunning || listings == 0 {
            do {
                let listed = try store.list(app: app)
                #expect(listed.contains { $0.id == kept }, "the item nobody removed is listed")
            } catch {
                failures.append(error.message)
            }
            listings += 1
        }
        remover.waitUntilExit()
        #expect(failures.isEmpty, "\(failures.count) of \(listings) listings failed: \(failures.prefix(3))")
        #expect(try store.list(app: app).map(\.id) == [kept])
        _ = try store.delete(kept)
    }
}
