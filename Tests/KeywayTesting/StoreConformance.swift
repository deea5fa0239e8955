public import KeywayCore
import Synchronization
import Testing

/// The conformance suite every ``CredentialStore`` must pass: Keyway's own backends run it, and so can a third-party
/// backend, from its Swift Testing tests.
///
/// ```swift
/// import Keyway
/// import KeywayTesting
/// import Testing
///
/// @Test func conformance() throws {
///     try StoreConformance(
///         makeStore: { MyStore(path: freshEmptyPath()) },
///         makeBroken: { MyStore(path: corruptFilePath()) }
///     ).run()
/// }
/// ```
///
/// ``run()`` checks the contract written on ``CredentialStore``: round trip of the secret and every metadata field,
/// overwrite, delete, list (all and per app, sorted), delete-all, profiles and apps kept apart, unicode and quoting
/// in names, a large secret, a key breaking ``APIKeyRules`` refused, a missing entry read as nil and a failing store
/// reported as an error (through `makeBroken`) -- and that no error thrown during the run contains a secret the run
/// handed to the store. Each failure is recorded with `#expect` (one Swift Testing issue, naming the check), so the
/// calling `@Test` fails and says which clause broke.
///
/// The suite writes credentials whose app names start with `conformance-`. `makeStore` should return a store with
/// none of those (an empty store is simplest).
public struct StoreConformance: Sendable {
    /// Returns a fresh store holding no `conformance-` credential (an empty store is simplest).
    public let makeStore: @Sendable () throws -> any CredentialStore
    /// Returns a store that cannot be read (a corrupt file, an unreachable service...): reading or listing it must
    /// throw a ``KeywayError``. Nil skips ``failureIsNotMissing()``.
    public let makeBroken: (@Sendable () throws -> any CredentialStore)?
    /// The largest secret the backend must hold, in bytes. Defaults to 64 KiB, the most a key may be
    /// (``APIKeyRules/maximumBytes``).
    public let largeSecretSize: Int
    /// Every error the stores threw during the checks, with the secrets handed to them (shared by copies).
    private let recorder = ErrorRecorder()

    /// A suite for the stores `makeStore` returns.
    ///
    /// - Parameters:
    ///   - largeSecretSize: The largest secret the backend must hold, in bytes.
    ///   - makeStore: Returns a fresh store with no `conformance-` credential.
    ///   - makeBroken: Returns a store whose reads fail; nil when the backend has no way to break.
    public init(
        largeSecretSize: Int = APIKeyRules.maximumBytes,
        makeStore: @escaping @Sendable () throws -> any CredentialStore,
        makeBroken: (@Sendable () throws -> any CredentialStore)? = nil
    ) {
        self.makeStore = makeStore
        self.makeBroken = makeBroken
        self.largeSecretSize = largeSecretSize
    }

    /// Runs every check, then ``errorsNeverContainTheSecret()`` over every error the checks saw. A check that throws
    /// stops the run; the errors seen until then are still checked before the error is rethrown.
    public func run() throws {
        do {
            try roundTrip()
            try overwrite()
            try deleteAndMissing()
            try listing()
            try profilesApart()
            try unicodeNames()
            try largeSecret()
            try unusableKeyIsRefused()
            try failureIsNotMissing()
            try secretInHandIsNotEchoed()
        } catch {
            recorder.record(error)
            errorsNeverContainTheSecret()
            throw error
        }
        errorsNeverContainTheSecret()
    }

    /// A distinctive key: long enough, and unlike anything a backend writes in a message, that finding it in an error
    /// can only mean the error carries the secret.
    public static let distinctiveSecret = "kwconf_Distinctive-Secret_7d3fQ9zX2mLp8RvT"

    static func sample(_ app: String, _ profile: String = "default", key: String? = nil) -> Credential {
        Credential(
            id: CredentialID(app: app, profile: profile), secret: Secret(key ?? "key_\(app)_\(profile)_0123456789"),
            account: "user@example.com", organization: "Example Org", scopes: ["read", "write"],
            expires: Day(year: 2031, month: 2, day: 28), created: Timestamp(secondsSinceEpoch: 1_700_000_000),
            updated: Timestamp(secondsSinceEpoch: 1_700_000_100))
    }

    /// A store from `makeStore`, its errors recorded.
    private func store() throws -> any CredentialStore {
        do { return RecordingStore(base: try makeStore(), recorder: recorder) } catch {
            recorder.record(error)
            throw error
        }
    }

    /// A credential and everything it holds round-trips: the secret, account, organization, scopes, expiry and both
    /// times; and a credential with no metadata comes back with none.
    public func roundTrip() throws {
        let store = try store()
        let credential = Self.sample("conformance-app")
        try store.write(credential)
        let read = try store.read(credential.id)
        #expect(read == credential, "round trip: every field comes back as written")
        let bare = Credential(
            id: CredentialID(app: "conformance-bare"), secret: Secret("bare-secret-value"),
            created: Timestamp(secondsSinceEpoch: 1_700_000_000))
        try store.write(bare)
        #expect(try store.read(bare.id) == bare, "round trip: a credential with no metadata")
    }

    /// A second write with the same id replaces the first, fields cleared included, and leaves one entry.
    public func overwrite() throws {
        let store = try store()
        let first = Self.sample("conformance-overwrite", key: "first-secret-0000")
        try store.write(first)
        var second = Self.sample("conformance-overwrite", key: "second-secret-1111")
        second.account = "other@example.com"
        second.scopes = []
        second.expires = nil
        try store.write(second)
        #expect(try store.read(first.id) == second, "overwrite: the second write replaces the first")
        #expect(try store.list(app: "conformance-overwrite").count == 1, "overwrite: no duplicate entry")
    }

    /// An absent credential reads as nil and deleting it reports false; deleting a present one reports true, removes
    /// it and nothing else.
    public func deleteAndMissing() throws {
        let store = try store()
        let id = CredentialID(app: "conformance-delete")
        #expect(try store.read(id) == nil, "missing: reading an absent credential gives nil")
        #expect(try store.delete(id) == false, "delete: removing an absent credential reports false")
        try store.write(Self.sample("conformance-delete"))
        try store.write(Self.sample("conformance-keep"))
        #expect(try store.delete(id) == true, "delete: removing a present credential reports true")
        #expect(try store.read(id) == nil, "delete: it is gone")
        #expect(try store.read(CredentialID(app: "conformance-keep")) != nil, "delete: others are untouched")
    }

    /// `list()` returns every credential sorted by app then profile, `list(app:)` only that app's, and
    /// `deleteAll(app:)` removes exactly that app's profiles and returns them.
    public func listing() throws {
        let store = try store()
        let ids = [
            CredentialID(app: "conformance-b", profile: "default"), CredentialID(app: "conformance-a", profile: "z"),
            CredentialID(app: "conformance-a", profile: "a"), CredentialID(app: "conformance-c", profile: "default"),
        ]
        for id in ids { try store.write(Self.sample(id.app, id.profile)) }
        let all = try store.list().map(\.id).filter { $0.app.hasPrefix("conformance-") && $0.app.count == 13 }
        #expect(all == ids.sorted(), "list: every credential, sorted by app then profile")
        let one = try store.list(app: "conformance-a").map(\.id)
        #expect(one == [ids[2], ids[1]], "list(app:): only that app's profiles, sorted")
        let removed = try store.deleteAll(app: "conformance-a")
        #expect(Set(removed) == Set([ids[1], ids[2]]), "deleteAll: returns the profiles removed")
        #expect(try store.list(app: "conformance-a").isEmpty, "deleteAll: the app has no profile left")
        #expect(try store.read(ids[0]) != nil, "deleteAll: other apps are untouched")
    }

    /// Two profiles of one app, and the same profile name in two apps, keep their own keys; there is no implicit
    /// `default` profile.
    public func profilesApart() throws {
        let store = try store()
        let dev = Self.sample("conformance-profiles", "dev", key: "dev-secret-aaaa")
        let prod = Self.sample("conformance-profiles", "prod", key: "prod-secret-bbbb")
        let otherApp = Self.sample("conformance-profiles-2", "dev", key: "other-secret-cccc")
        try store.write(dev)
        try store.write(prod)
        try store.write(otherApp)
        #expect(try store.read(dev.id)?.secret == dev.secret, "profiles: dev keeps its own key")
        #expect(try store.read(prod.id)?.secret == prod.secret, "profiles: prod keeps its own key")
        #expect(try store.read(otherApp.id)?.secret == otherApp.secret, "apps: same profile name, other app")
        try store.delete(dev.id)
        #expect(try store.read(prod.id) != nil, "profiles: deleting one leaves the other")
        #expect(try store.read(CredentialID(app: "conformance-profiles")) == nil, "profiles: no implicit default")
    }

    /// Non-ASCII app, profile and key survive, and so do quotes, backslashes and slashes.
    public func unicodeNames() throws {
        let store = try store()
        let credential = Self.sample("conformance-ünïcødé-应用", "prøfile 🚀 one", key: "clé-secrète-🔑-ключ")
        try store.write(credential)
        #expect(try store.read(credential.id) == credential, "unicode: app, profile and key survive")
        #expect(try store.list(app: credential.id.app).map(\.id) == [credential.id], "unicode: listed under its app")
        var quoted = Self.sample("conformance-\"quoted\"\\app", "profile/with/slashes", key: "sec\"ret\\with'quotes")
        quoted.account = "ac\"count"
        try store.write(quoted)
        #expect(try store.read(quoted.id) == quoted, "quotes, backslashes and slashes survive")
    }

    /// A `largeSecretSize`-byte secret survives.
    public func largeSecret() throws {
        let store = try store()
        let pattern = Array("abcdefghijklmnopqrstuvwxyz0123456789+/")
        let big = String((0..<largeSecretSize).map { pattern[$0 % pattern.count] })
        let credential = Self.sample("conformance-large", key: big)
        try store.write(credential)
        #expect(
            try store.read(credential.id)?.secret.reveal() == big, "large: a \(largeSecretSize)-byte secret survives")
    }

    /// A key breaking `APIKeyRules` (one byte over the limit, a newline, NUL, empty, only spaces) is refused by
    /// `write`, and what the store held stays readable: a store never holds a key it would refuse to read.
    public func unusableKeyIsRefused() throws {
        let store = try store()
        let kept = Self.sample("conformance-kept")
        try store.write(kept)
        let tooLong = String(repeating: "k", count: APIKeyRules.maximumBytes + 1)
        for key in [tooLong, "two\nlines", "nul\u{0}inside", "", "   "] {
            let credential = Self.sample("conformance-unusable", key: key)
            #expect(throws: KeywayError.self, "unusable key: write refuses it") { try store.write(credential) }
            #expect(try store.read(credential.id) == nil, "unusable key: nothing was written")
        }
        #expect(try store.read(kept.id) == kept, "unusable key: the store is still readable")
        #expect(try store.list(app: "conformance-kept").map(\.id) == [kept.id], "unusable key: listing still works")
        #expect(try store.list(app: "conformance-unusable").isEmpty, "unusable key: nothing was listed")
    }

    /// Reading and listing a store from `makeBroken` throw instead of reporting nothing. Writing
    /// ``distinctiveSecret`` to it is tried too (whatever it does, its error must not carry the key).
    public func failureIsNotMissing() throws {
        guard let makeBroken else { return }
        let broken: any CredentialStore
        do { broken = RecordingStore(base: try makeBroken(), recorder: recorder) } catch {
            recorder.record(error)
            throw error
        }
        #expect(throws: KeywayError.self, "failure: reading a broken store throws instead of returning nil") {
            _ = try broken.read(CredentialID(app: "conformance-anything"))
        }
        #expect(throws: KeywayError.self, "failure: listing a broken store throws") {
            _ = try broken.list()
        }
        _ = try? broken.write(Self.sample("conformance-broken", key: Self.distinctiveSecret))
    }

    /// Errors raised while a store holds ``distinctiveSecret`` or is handed a variant of it (with a newline, with
    /// NUL, or repeated past the size limit) do not carry the key; checked by ``errorsNeverContainTheSecret()``.
    public func secretInHandIsNotEchoed() throws {
        let store = try store()
        let held = Self.sample("conformance-distinctive", key: Self.distinctiveSecret)
        try store.write(held)
        let variants = [
            Self.distinctiveSecret + "\n", "\n" + Self.distinctiveSecret, Self.distinctiveSecret + "\u{0}",
            String(
                repeating: Self.distinctiveSecret,
                count: APIKeyRules.maximumBytes / Self.distinctiveSecret.utf8.count + 1),
        ]
        for key in variants {
            #expect(throws: KeywayError.self, "unusable key: write refuses it") {
                try store.write(Self.sample("conformance-distinctive", key: key))
            }
        }
        #expect(try store.read(held.id) == held, "a refused write leaves the stored key")
    }

    /// No error thrown by a store during the run -- its `message`, `description` or debug description -- contains a
    /// secret the run handed to that store (secrets of 8 bytes or more that are not all one character; shorter ones
    /// could occur in any text by chance). One issue per error found, naming the credential, never the secret.
    public func errorsNeverContainTheSecret() {
        for (error, secrets) in recorder.seen() {
            var texts = [String(describing: error), String(reflecting: error)]
            if let error = error as? KeywayError { texts.append(error.message) }
            for (id, secret) in secrets where Self.isDistinctive(secret) {
                let leaked = texts.contains { $0.contains(secret) }
                #expect(!leaked, "no error contains the secret: an error carries the key of \(id)")
            }
        }
    }

    static func isDistinctive(_ secret: String) -> Bool {
        secret.utf8.count >= 8 && Set(secret.unicodeScalars).count > 1
    }
}

/// The errors seen during a run, each with the secrets its store had been handed by then.
private final class ErrorRecorder: Sendable {
    private let state = Mutex<(errors: [(any Error, [(CredentialID, String)])], secrets: [(CredentialID, String)])>(
        ([], []))

    func handed(_ credential: Credential) {
        state.withLock { $0.secrets.append((credential.id, credential.secret.reveal())) }
    }

    func record(_ error: any Error) {
        state.withLock { $0.errors.append((error, $0.secrets)) }
    }

    func seen() -> [(any Error, [(CredentialID, String)])] { state.withLock { $0.errors } }
}

/// Forwards every call to `base`, noting the secrets written and the errors thrown.
private struct RecordingStore: CredentialStore {
    let base: any CredentialStore
    let recorder: ErrorRecorder

    var backendName: String { base.backendName }
    var location: String { base.location }
    var filePath: String? { base.filePath }
    func availability() -> Availability { base.availability() }

    private func recorded<T>(_ body: () throws(KeywayError) -> T) throws(KeywayError) -> T {
        do { return try body() } catch {
            recorder.record(error)
            throw error
        }
    }

    func read(_ id: CredentialID) throws(KeywayError) -> Credential? {
        try recorded { () throws(KeywayError) in try base.read(id) }
    }

    func write(_ credential: Credential) throws(KeywayError) {
        recorder.handed(credential)
        try recorded { () throws(KeywayError) in try base.write(credential) }
    }

    func delete(_ id: CredentialID) throws(KeywayError) -> Bool {
        try recorded { () throws(KeywayError) in try base.delete(id) }
    }

    func list(app: String?) throws(KeywayError) -> [Credential] {
        try recorded { () throws(KeywayError) in try base.list(app: app) }
    }

    func deleteAll(app: String) throws(KeywayError) -> [CredentialID] {
        try recorded { () throws(KeywayError) in try base.deleteAll(app: app) }
    }
}
