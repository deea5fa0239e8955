import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

/// Provider faults seen on real Secret Services, reproduced deterministically by `FakeProvider` on a private bus.
@Suite(.enabled(if: PrivateBus.available))
struct ProviderFaultTests {
    static let newSecret = "new_fake_key_0123456789"

    /// `keyway login fakeapp` with `newSecret`, on a fake provider with `faults`.
    static func login(faults: String) throws -> (FakeProvider, Sandbox, RunResult) {
        let provider = try FakeProvider(faults: faults)
        let sandbox = try Sandbox()
        let login = try sandbox.run(
            ["login", "fakeapp", "--backend", "keyring"], env: provider.environment, stdin: newSecret + "\n")
        return (provider, sandbox, login)
    }

    /// `keyway get fakeapp` on `provider`: the key the store holds now.
    static func get(_ provider: FakeProvider, _ sandbox: Sandbox) throws -> RunResult {
        try sandbox.run(["get", "fakeapp", "--backend", "keyring"], env: provider.environment)
    }

    /// KWallet's session-key bug: the write "succeeds" and the item holds an empty secret. Keyway reads the new item
    /// back, removes the bad copy, and writes again over a fresh transfer session; only then is the old item deleted.
    @Test func aWriteThatStoresAnEmptySecretIsRepeatedOverAFreshSession() throws {
        let provider = try FakeProvider(faults: "bad-creates=1")
        let sandbox = try Sandbox()
        let login = try sandbox.run(
            ["login", "fakeapp", "--backend", "keyring"], env: provider.environment, stdin: Self.newSecret + "\n")
        #expect(login.status == 0, "\(login)")
        #expect(provider.count("CreateItem") == 2, "\(provider.calls())")
        #expect(provider.count("OpenSession") >= 2, "a fresh transfer session: \(provider.calls())")
        let get = try Self.get(provider, sandbox)
        #expect(get.stdout == Self.newSecret + "\n", "\(get)")
        // The bad copy and the old item are gone; exactly one item is left.
        #expect(provider.count("Delete") == 2, "\(provider.calls())")
    }

    /// KWallet also fails CreateItem outright now and then ("Can't find session ..."): repeated the same way.
    @Test func aWriteThatFailsOnceIsRepeatedOverAFreshSession() throws {
        let provider = try FakeProvider(faults: "fail-creates=1")
        let sandbox = try Sandbox()
        let login = try sandbox.run(
            ["login", "fakeapp", "--backend", "keyring"], env: provider.environment, stdin: Self.newSecret + "\n")
        #expect(login.status == 0, "\(login)")
        #expect(provider.count("CreateItem") == 2, "\(provider.calls())")
        let get = try Self.get(provider, sandbox)
        #expect(get.stdout == Self.newSecret + "\n", "\(get)")
    }

    /// Two failed CreateItems in a row were seen on KWallet in CI ("Can't find session ..." both times, 2026-12-02):
    /// a write is repeated up to twice, each over a fresh session, and a bad copy and a failure count alike.
    @Test(arguments: ["fail-creates=2", "bad-creates=2", "fail-creates=1,bad-creates=1"])
    func aWriteThatFailsTwiceIsRepeatedAgain(faults: String) throws {
        let (provider, sandbox, login) = try Self.login(faults: faults)
        #expect(login.status == 0 && login.stdout.contains("Stored"), "\(login)")
        #expect(provider.count("CreateItem") == 3, "\(provider.calls())")
        #expect(provider.count("OpenSession") >= 3, "a fresh transfer session each time: \(provider.calls())")
        let get = try Self.get(provider, sandbox)
        #expect(get.stdout == Self.newSecret + "\n", "\(get)")
    }

    /// When every try stores a bad copy, the command fails and the old key is kept.
    @Test func aWriteThatKeepsStoringBadCopiesKeepsTheOldKey() throws {
        let (provider, sandbox, login) = try Self.login(faults: "bad-creates=3")
        #expect(login.status == 2, "\(login)")
        #expect(!login.stdout.contains("Stored"), "\(login)")
        #expect(login.stderr.contains("did not store the API key for fakeapp (profile default) intact"), "\(login)")
        #expect(
            login.stderr.contains("held a different secret 3 times (each was removed)")
                && !login.stderr.contains("the write failed") && login.stderr.contains("The previous key was kept."),
            "\(login)")
        #expect(!login.stderr.contains(Self.newSecret) && !login.stdout.contains(Self.newSecret), "no key printed")
        #expect(provider.count("CreateItem") == 3, "\(provider.calls())")
        #expect(provider.count("Delete") == 3, "the three bad copies removed, the old item kept: \(provider.calls())")
        let get = try Self.get(provider, sandbox)
        #expect(get.stdout == FakeProvider.oldSecret + "\n", "\(get)")
    }

    /// When every CreateItem fails, the provider's error is reported with how often it was tried, and the old key kept.
    @Test func aWriteThatKeepsFailingKeepsTheOldKey() throws {
        let (provider, sandbox, login) = try Self.login(faults: "fail-creates=3")
        #expect(login.status == 2 && !login.stdout.contains("Stored"), "\(login)")
        #expect(
            login.stderr.contains("the write failed 3 times (last: ") && login.stderr.contains("Can't find session")
                && !login.stderr.contains("held a different secret")
                && login.stderr.contains("The previous key was kept."),
            "\(login)")
        #expect(!login.stderr.contains(Self.newSecret), "no key printed")
        #expect(provider.count("CreateItem") == 3 && provider.count("Delete") == 0, "\(provider.calls())")
        let get = try Self.get(provider, sandbox)
        #expect(get.stdout == FakeProvider.oldSecret + "\n", "\(get)")
    }

    /// A bad copy and failed writes in one run are each told, with how often.
    @Test func aWriteThatFailsBothWaysSaysBoth() throws {
        let (provider, sandbox, login) = try Self.login(faults: "fail-creates=1,bad-creates=2")
        #expect(login.status == 2 && !login.stdout.contains("Stored"), "\(login)")
        #expect(
            login.stderr.contains("held a different secret twice (each was removed)")
                && login.stderr.contains("the write failed once (last: ") && login.stderr.contains("in 3 tries"),
            "\(login)")
        #expect(provider.count("CreateItem") == 3 && provider.count("Delete") == 2, "\(provider.calls())")
        let get = try Self.get(provider, sandbox)
        #expect(get.stdout == FakeProvider.oldSecret + "\n", "\(get)")
    }

    /// KWallet fails about 1% of reads ("Client public key size is invalid"): one retry over a fresh session.
    @Test func aFailedReadIsRetriedOnceOverAFreshSession() throws {
        let provider = try FakeProvider(faults: "bad-reads=1")
        let sandbox = try Sandbox()
        let get = try Self.get(provider, sandbox)
        #expect(get.status == 0, "\(get)")
        #expect(get.stdout == FakeProvider.oldSecret + "\n", "\(get)")
        #expect(provider.count("GetSecrets") == 2 && provider.count("OpenSession") == 2, "\(provider.calls())")
    }

    /// Two failures in a row were seen on KWallet in CI: a read is repeated up to twice, each over a fresh session.
    @Test func aReadThatFailsTwiceIsRepeatedAgain() throws {
        let provider = try FakeProvider(faults: "bad-reads=2")
        let sandbox = try Sandbox()
        let get = try Self.get(provider, sandbox)
        #expect(get.status == 0 && get.stdout == FakeProvider.oldSecret + "\n", "\(get)")
        #expect(provider.count("GetSecrets") == 3, "\(provider.calls())")
    }

    /// A provider that keeps failing is reported, after a bounded number of tries: the prefetch during the search
    /// (three), then the read of the item found (three); the item is still there, so the read is not done again.
    @Test func aReadThatKeepsFailingIsReported() throws {
        let provider = try FakeProvider(faults: "bad-reads=6")
        let sandbox = try Sandbox()
        let get = try Self.get(provider, sandbox)
        #expect(get.status == 2, "\(get)")
        #expect(get.stderr.contains("Client public key size is invalid"), "\(get)")
        #expect(provider.count("GetSecrets") == 6, "\(provider.calls())")
    }

    /// Messages that put a description after a prefix keep it in lower case ("Unlocking the ...", not "The").
    @Test func unlockTimeoutWording() throws {
        let provider = try FakeProvider(faults: "locked-prompt-hangs")
        let sandbox = try Sandbox()
        var env = provider.environment
        env["DISPLAY"] = ":97"
        env["KEYWAY_KEYRING_PROMPT_TIMEOUT"] = "1"
        let get = try sandbox.run(["get", "fakeapp", "--backend", "keyring"], env: env)
        #expect(get.status == 2, "\(get)")
        #expect(get.stderr.contains("Unlocking the keyring collection"), "\(get)")
        #expect(!get.stderr.contains("Unlocking The"), "\(get)")
        #expect(get.stderr.contains("did not finish within 1 s"), "\(get)")
    }
}

/// Calls that may prompt are bounded by the prompt timeout, and a provider that leaves the bus ends them at once.
@Suite(.enabled(if: PrivateBus.available))
struct ProviderHangTests {
    /// CreateItem accepted and never answered (KeePassXC was seen to hang a `login` for more than 11 minutes).
    @Test func aCreateItemNeverAnsweredIsBoundedByThePromptTimeout() throws {
        let provider = try FakeProvider(faults: "hang-create")
        let sandbox = try Sandbox()
        var env = provider.environment
        env["KEYWAY_KEYRING_PROMPT_TIMEOUT"] = "2"
        let start = Date()
        let login = try sandbox.run(
            ["login", "fakeapp", "--backend", "keyring"], env: env, stdin: ProviderFaultTests.newSecret + "\n")
        let elapsed = Date().timeIntervalSince(start)
        #expect(login.status == 2, "\(login)")
        #expect(elapsed < 6, "bounded by the 2 s prompt timeout: \(elapsed) s")
        #expect(login.stderr.contains("did not finish within 2 s"), "\(login)")
        #expect(login.stderr.contains("KEYWAY_KEYRING_PROMPT_TIMEOUT"), "\(login)")
        #expect(provider.count("CreateItem") == 1, "\(provider.calls())")
    }

    /// The provider exits while CreateItem is in flight: reported as a disconnection, at once.
    @Test func aProviderThatExitsDuringCreateItemIsReportedDisconnected() throws {
        let provider = try FakeProvider(faults: "exit-on-create")
        let sandbox = try Sandbox()
        let start = Date()
        let login = try sandbox.run(
            ["login", "fakeapp", "--backend", "keyring"], env: provider.environment,
            stdin: ProviderFaultTests.newSecret + "\n")
        #expect(Date().timeIntervalSince(start) < 4, "at once, not after a timeout")
        #expect(login.status == 2, "\(login)")
        #expect(login.stderr.contains("disconnected from the D-Bus session bus during the command"), "\(login)")
        #expect(!login.stderr.contains("nothing provides"), "\(login)")
    }

    /// The unlock prompt never completes, not even after Dismiss (libsecret then waits for ever).
    @Test func anUnlockPromptThatNeverCompletesIsBounded() throws {
        let provider = try FakeProvider(faults: "locked-prompt-hangs")
        let sandbox = try Sandbox()
        var env = provider.environment
        env["DISPLAY"] = ":97"
        env["KEYWAY_KEYRING_PROMPT_TIMEOUT"] = "1"
        let start = Date()
        let get = try sandbox.run(["get", "fakeapp", "--backend", "keyring"], env: env)
        #expect(Date().timeIntervalSince(start) < 5)
        #expect(get.status == 2, "\(get)")
    }
}
