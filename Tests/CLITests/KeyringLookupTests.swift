import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

/// The keyring lookup does its search first and looks at the default collection only on a miss; these tests keep the
/// error states that depends on: a miss behind a locked collection is still "locked", not "not found", and a bus
/// without a Secret Service is still "no Secret Service" although no provider check precedes the lookup any more.
@Suite(
    .enabled(
        if: KeyringCLI.enabled,
        "Keyring tests need a private Secret Service: run `scripts/with-keyring swift test` (they never use your own keyring)."
    ))
struct KeyringLookupTests {
    /// A hit costs the Secret Service calls `secret-tool lookup` makes (open a session, one search, the item's
    /// properties, its secret) and no diagnostic call: no provider check, no default-collection lookup.
    @Test func lookupHitMakesNoDiagnosticCalls() throws {
        let sandbox = try Sandbox()
        let app = KeyringCLI.app("fast")
        let stored = try repeatedWhileFailing {
            try runProcess(
                "/usr/bin/env", ["secret-tool", "store", "--label=fast", "service", app, "username", "default"],
                environment: ProcessInfo.processInfo.environment, stdin: "fast_key_0123456789")
        }
        try #require(stored.status == 0, "\(stored)")
        let monitor = try BusMonitor()
        let get = try sandbox.run(["get", app, "--backend", "keyring"], env: KeyringCLI.busEnvironment)
        #expect(get.stdout == "fast_key_0123456789\n", "\(get)")
        // The search carrying this test's app name tells keyway's connection; once the bus reports it closed, the
        // monitor has printed every call it made.
        let search = {
            monitor.messages.first {
                $0.hasPrefix("method call") && $0.contains("member=SearchItems") && $0.contains(app)
            }
        }
        try monitor.waitFor("keyway's search") { _ in search() != nil }
        let sender = try #require(search().flatMap { busMessageField($0, "sender") }, "keyway's search was seen")
        try monitor.waitForDisconnect(of: sender)
        let messages = monitor.messages
        monitor.stop()
        let calls = messages.filter { $0.hasPrefix("method call") && busMessageField($0, "sender") == sender }
            .compactMap {
                busMessageField($0, "member")
            }
        #expect(!calls.contains("NameHasOwner"), "\(calls)")
        #expect(!calls.contains("ReadAlias"), "\(calls)")
        #expect(calls.filter { $0 == "SearchItems" }.count == 1, "\(calls)")
        // The lookup's calls end with its GetSecrets. Under KWallet about 1% of reads fail and are repeated over a
        // fresh transfer session (a new Secret Service proxy, then GetSecrets again: seen in a run of this test,
        // 2026-12-02); nothing else may follow.
        let lookup = calls.firstIndex(of: "GetSecrets").map { calls[...$0] } ?? calls[...]
        let repeated: Set = [
            "StartServiceByName", "GetNameOwner", "GetAll", "OpenSession", "GetSecrets", "RemoveMatch",
        ]
        #expect(calls[lookup.endIndex...].allSatisfy(repeated.contains), "only a repeated read after it: \(calls)")
        #expect(lookup.filter { $0 == "GetSecrets" }.count == 1, "\(calls)")
        #expect(lookup.filter { $0 == "GetAll" }.count == 2, "the service's and the item's properties: \(calls)")
    }

    @Test func missOnALockedCollectionReportsLockedNotNotFound() throws {
        let keyring = try PrivateProvider("gnome-keyring")
        let sandbox = try Sandbox()
        try keyring.lockDefaultCollection()
        let start = Date()
        let get = try sandbox.run(["get", "nosuchapp", "--backend", "keyring"], env: keyring.environment)
        #expect(Date().timeIntervalSince(start) < 5)
        #expect(get.status == 2, "an error, not 'not found': \(get)")
        #expect(get.stderr.contains("The default keyring collection"), "\(get)")
        #expect(get.stderr.contains("is locked, and no unlock prompt can be shown here"), "\(get)")
    }

    @Test func hitOnALockedCollectionReportsLocked() throws {
        let keyring = try PrivateProvider("gnome-keyring")
        let sandbox = try Sandbox()
        #expect(
            try keyring.run(
                ["secret-tool", "store", "--label=x", "service", "lockhit", "username", "work"],
                stdin: "lockhit_key_0123456789"
            ).status == 0)
        try keyring.lockDefaultCollection()
        let get = try sandbox.run(
            ["get", "lockhit", "--profile", "work", "--backend", "keyring"], env: keyring.environment)
        #expect(get.status == 2, "\(get)")
        #expect(get.stderr.contains("is locked, and no unlock prompt can be shown here"), "\(get)")
        #expect(!get.stdout.contains("lockhit_key"), "\(get)")
    }

    /// The process's own bus (the fast path) with nothing providing the Secret Service and nothing activatable.
    @Test(.enabled(if: PrivateBus.available))
    func ownBusWithoutProviderReportsNoSecretService() throws {
        let bus = try PrivateBus()
        let address = bus.address
        let sandbox = try Sandbox()
        let start = Date()
        let get = try sandbox.run(["get", "any", "--backend", "keyring"], env: ["DBUS_SESSION_BUS_ADDRESS": address])
        #expect(Date().timeIntervalSince(start) < 3, "fails fast instead of waiting for an activation")
        #expect(get.status == 2, "\(get)")
        #expect(get.stderr.contains("No Secret Service on the D-Bus session bus"), "\(get)")
        let auto = try sandbox.run(["get", "any"], env: ["DBUS_SESSION_BUS_ADDRESS": address])
        #expect(auto.status == 1, "auto treats it as an unusable backend and finds nothing: \(auto)")
    }
}

/// A session bus that accepts the connection but never answers `Hello`: GLib would wait 25 s; Keyway gives up at
/// its keyring timeout with a clear error (issue 4: never a hang).
@Suite struct SilentBusTests {
    @Test(.enabled(if: PrivateBus.available))
    func busThatNeverAnswersHelloTimesOut() throws {
        let bus = try PrivateBus(policy: PrivateBus.silentPolicy)
        let address = bus.address
        let sandbox = try Sandbox()
        let started = Date()
        let result = try sandbox.run(
            ["get", "reflex", "--backend", "keyring"],
            env: ["DBUS_SESSION_BUS_ADDRESS": address, "KEYWAY_KEYRING_TIMEOUT": "2"])
        let elapsed = Date().timeIntervalSince(started)
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.contains("it did not answer within 2 s"), "\(result.stderr)")
        #expect(elapsed < 10, "took \(elapsed) s")
    }
}

/// `keyway backends` looks at the keyring once: on a bus that never answers, one timeout, not two.
@Suite struct BackendsOnceTests {
    @Test(.enabled(if: PrivateBus.available))
    func backendsOnASilentBusWaitsOneTimeout() throws {
        let bus = try PrivateBus(policy: PrivateBus.silentPolicy)
        let sandbox = try Sandbox()
        let started = Date()
        let result = try sandbox.run(
            ["backends"], env: ["DBUS_SESSION_BUS_ADDRESS": bus.address, "KEYWAY_KEYRING_TIMEOUT": "2"])
        let elapsed = Date().timeIntervalSince(started)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("it did not answer within 2 s"), "\(result)")
        // A keyring that is there but does not answer is still auto's choice: a write reports its error rather than
        // going to the plaintext file (issue 10, item 10; AutoKeyringFailureTests).
        #expect(result.stdout.contains("keyring (auto writes here)"), "\(result)")
        #expect(elapsed < 3.5, "one 2 s timeout, not two: \(elapsed) s")
    }
}

/// A gnome-keyring with no login keyring: no collection is the default. Its own state everywhere: `backends` says
/// the keyring cannot store and how to create a default keyring; `get`, `list` and `login` say so too.
@Suite(.enabled(if: PrivateBus.available))
struct NoDefaultCollectionTests {
    @Test func reportedAsItsOwnState() throws {
        let keyring = try PrivateProvider.gnomeKeyringWithoutDefaultCollection()
        let env = keyring.environment
        let sandbox = try Sandbox()
        let backends = try sandbox.run(["backends", "--json"], env: env)
        let root = try JSON.parse(backends.stdout)
        #expect(root["auto_writes_to"] == .string("plaintext"), "\(backends)")
        guard case .array(let list)? = root["backends"] else {
            Issue.record("no backends: \(backends)")
            return
        }
        #expect(list.first?["usable"] == .bool(false), "\(backends)")
        #expect(list.first?["reason"]?.stringValue?.contains("no default collection") == true, "\(backends)")
        #expect(list.first?["reason"]?.stringValue?.contains("Create a keyring and make it the default") == true)
        for arguments in [["get", "nodefault"], ["list"]] {
            let result = try sandbox.run(arguments + ["--backend", "keyring"], env: env)
            #expect(result.status == 2, "\(arguments): \(result)")
            #expect(result.stderr.contains("no default collection"), "\(arguments): \(result)")
        }
        let login = try sandbox.run(
            ["login", "nodefault", "--backend", "keyring"], env: env, stdin: "nodefault_0123456789\n")
        #expect(login.status == 2 && login.stderr.contains("no default collection"), "\(login)")
    }
}
