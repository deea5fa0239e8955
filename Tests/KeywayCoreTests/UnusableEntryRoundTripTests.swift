import KeywayCore
import Testing

/// A document holding an entry whose key breaks `APIKeyRules` survives its own serialization (found by the
/// credentials fuzz target: the fast path and the full decoder, and a rewrite, must agree on such entries).
@Suite struct UnusableEntryRoundTripTests {
    static let text = #"""
        {"credentials": [
          {"api_key": "k1", "profile": "d\u0065fault", "app": "a\/b", "future_field": {"x": [1, 2.5e-3, -0, true, false]}, "account": null},
          {"app": "z", "profile": "default", "api_key": "k2 \"\\ \u200e9 \ud83d\ude80", "created": "2026-01-01T10:00:00+02:00", "scopes": null},
          {"app": "x", "profile": "p", "api_key": "key üé 🚀", "expires": "2026-02-28"}
        ], "version": 1, "extra": true}
        """#

    @Test func survivesItsOwnSerialization() throws {
        let source = "/test/credentials.json"
        let document = try CredentialDocument(parsing: Array(Self.text.utf8), source: source)
        let again = try CredentialDocument(parsing: document.serialized(), source: source)
        #expect(again.credentials == document.credentials, "\(String(decoding: document.serialized(), as: UTF8.self))")
        // The same entries are unusable; their errors name the entry's position in the file read, which a rewrite
        // (entries sorted) may change.
        #expect(Set(again.unusable.keys) == Set(document.unusable.keys))
        #expect(document.unusable.keys.map(\.app) == ["z"])
        let id = CredentialID(app: "z")
        #expect(throws: KeywayError.self) {
            _ = try CredentialDocument.credential(id, parsing: Array(Self.text.utf8), source: source)
        }
    }
}
