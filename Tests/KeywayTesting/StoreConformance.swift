import KeywayCore
import Testing

/// The conformance suite every `CredentialStore` must pass.
///
/// Each backend's test target calls `StoreConformance.run(...)` with a factory that returns an empty store. The
/// suite checks: round trip of the secret and every metadata field, overwrite, delete, list (all and per app, sorted),
/// delete-all, profiles kept apart, apps kept apart, unicode names, large secrets, a missing entry read as nil and a
/// failing store reported as an error (through `makeBroken`).
public struct StoreConformance: Sendable {
    /// Returns a fresh, empty store.
    public let makeStore: @Sendable () throws -> any CredentialStore
    /// Returns a store that cannot be read (corrupt file, unreachable service...). Reading it must throw.
    public let makeBroken: (@Sendable () throws -> any CredentialStore)?
    /// The largest secret the backend must hold (bytes). Defaults to 64 KiB, the most a key may be
    /// (`APIKeyRules.maximumBytes`).
    public let largeSecretSize: Int

    public init(
        largeSecretSize: Int = APIKeyRules.maximumBytes, makeStore: @escaping @Sendable () throws -> any CredentialStore,
        makeBroken: (@Sendable () throws -> any CredentialStore)? = nil
    ) {
        self.makeStore = makeStore
        self.makeBroken = makeBroken
        self.largeSecretSize = largeSecretSize
    }

    /// Runs every check; each failure is recorded with `#expect` and the check's name.
    public func run() throws {
        try roundTrip()
        try overwrite()
        try deleteAndMissing()
        try listing()
        try profilesApart()
        try unicodeNames()
        try largeSecret()
        try unusableKeyIsRefused()
        try failureIsNotMissing()
    }

    static func sample(_ app: String, _ profile: String = "default", key: String? = nil) -> Credential {
        Credential(
            id: CredentialID(app: app, profile: profile), secret: Secret(key ?? "key_\(app)_\(profile)_0123456789"),
            account: "user@example.com", organization: "Example Org", scopes: ["read", "write"],
            expires: Day(year: 2031, month: 2, day: 28), created: Timestamp(secondsSinceEpoch: 1_700_000_000),
            updated: Timestamp(secondsSinceEpoch: 1_700_000_100))
    }

    public func roundTrip() throws {
        let store = try makeStore()
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

    public func overwrite() throws {
        let store = try makeStore()
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

    public func deleteAndMissing() throws {
        let store = try makeStore()
        let id = CredentialID(app: "conformance-delete")
        #expect(try store.read(id) == nil, "missing: reading an absent credential gives nil")
        #expect(try store.delete(id) == false, "delete: removing an absent credential reports false")
        try store.write(Self.sample("conformance-delete"))
        try store.write(Self.sample("conformance-keep"))
        #expect(try store.delete(id) == true, "delete: removing a present credential reports true")
        #expect(try store.read(id) == nil, "delete: it is gone")
        #expect(try store.read(CredentialID(app: "conformance-keep")) != nil, "delete: others are untouched")
    }

    public func listing() throws {
        let store = try makeStore()
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

    public func profilesApart() throws {
        let store = try makeStore()
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

    public func unicodeNames() throws {
        let store = try makeStore()
        let credential = Self.sample("conformance-ünïcødé-应用", "prøfile 🚀 one", key: "clé-secrète-🔑-ключ")
        try store.write(credential)
        #expect(try store.read(credential.id) == credential, "unicode: app, profile and key survive")
        #expect(try store.list(app: credential.id.app).map(\.id) == [credential.id], "unicode: listed under its app")
        var quoted = Self.sample("conformance-\"quoted\"\\app", "profile/with/slashes", key: "sec\"ret\\with'quotes")
        quoted.account = "ac\"count"
        try store.write(quoted)
        #expect(try store.read(quoted.id) == quoted, "quotes, backslashes and slashes survive")
    }

    public func largeSecret() throws {
        let store = try makeStore()
        let pattern = Array("abcdefghijklmnopqrstuvwxyz0123456789+/")
        let big = String((0..<largeSecretSize).map { pattern[$0 % pattern.count] })
        let credential = Self.sample("conformance-large", key: big)
        try store.write(credential)
        #expect(try store.read(credential.id)?.secret.reveal() == big, "large: a \(largeSecretSize)-byte secret survives")
    }

    /// A key breaking `APIKeyRules` (one byte over the limit, a newline, NUL, empty, only spaces) is refused by
    /// `write`, and what the store held stays readable: a store never holds a key it would refuse to read.
    public func unusableKeyIsRefused() throws {
        let store = try makeStore()
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

    public func failureIsNotMissing() throws {
        guard let makeBroken else { return }
        let broken = try makeBroken()
        #expect(throws: KeywayError.self, "failure: reading a broken store throws instead of returning nil") {
            _ = try broken.read(CredentialID(app: "conformance-anything"))
        }
        #expect(throws: KeywayError.self, "failure: listing a broken store throws") {
            _ = try broken.list()
        }
    }
}
