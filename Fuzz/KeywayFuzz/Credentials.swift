import KeywayCore

/// The credentials document: the full decoder (`CredentialDocument(parsing:source:)`) and the one-entry fast path of
/// `keyway get` (`CredentialDocument.credential(_:parsing:source:)`) must agree on every input, as
/// Tests/KeywayCoreTests/JSONTests.swift's CredentialLookupTests require: the same credential (or nil) when both
/// succeed, the same error when both fail, never one succeeding while the other fails. A decoded document must also
/// survive its own serialization unchanged, and any JSON value its own serialization.
enum CredentialsFuzz {
    static let target = FuzzTarget(
        name: "credentials", about: "credentials JSON: full decoder vs one-entry fast path, round trips",
        run: run)

    static func run(_ bytes: [UInt8]) {
        let full = Result<CredentialDocument, KeywayError> { () throws(KeywayError) in
            try CredentialDocument(parsing: bytes, source: "/fuzz/credentials.json")
        }
        for id in candidateIDs(bytes, full) {
            let fast = Result<Credential?, KeywayError> { () throws(KeywayError) in
                try CredentialDocument.credential(id, parsing: bytes, source: "/fuzz/credentials.json")
            }
            check(fast, usable(full, id), id)
        }
        if case .success(let document) = full {
            // The same entries, and the same ones unusable (their errors name the entry's position in the file read,
            // which the sorted rewrite may change).
            let again = try? CredentialDocument(parsing: document.serialized(), source: "/fuzz/credentials.json")
            guard let again, again.credentials == document.credentials,
                Set(again.unusable.keys) == Set(document.unusable.keys)
            else { fatalError("a decoded document does not survive its own serialization") }
        }
        if let value = try? JSON.parse(bytes) {
            for pretty in [true, false] {
                guard (try? JSON.parse(value.serialized(pretty: pretty))) == value else {
                    fatalError("a JSON value does not survive its own serialization (pretty: \(pretty))")
                }
            }
        }
    }

    /// What a read of `id` through a store returns from the full decoder's document: the entry, or the error of an
    /// entry whose key breaks `APIKeyRules` (the document keeps such entries in `unusable`; reading them fails).
    static func usable(_ document: Result<CredentialDocument, KeywayError>, _ id: CredentialID)
        -> Result<Credential?, KeywayError>
    {
        document.flatMap { d in Result { () throws(KeywayError) in try d.usableCredential(id) } }
    }

    /// The two results for `id` must agree (shared with the vault-body target).
    static func check(
        _ fast: Result<Credential?, KeywayError>, _ full: Result<Credential?, KeywayError>, _ id: CredentialID
    ) {
        switch (fast, full) {
        case (.success(let a), .success(let b)):
            guard a == b else { fatalError("fast path and full decoder return different credentials for \(id)") }
        case (.failure(let a), .failure(let b)):
            guard a == b else { fatalError("fast path and full decoder fail differently for \(id): \(a) / \(b)") }
        case (.success, .failure(let error)):
            fatalError("the fast path accepts for \(id) a document the full decoder rejects: \(error)")
        case (.failure(let error), .success):
            fatalError("the fast path rejects for \(id) a document the full decoder accepts: \(error)")
        }
    }

    /// The entries to look up: every entry of a valid document (up to 16), else the app/profile names of the entries
    /// the input appears to have, plus two fixed ones (one usually absent).
    static func candidateIDs(_ bytes: [UInt8], _ full: Result<CredentialDocument, KeywayError>) -> [CredentialID] {
        var ids = [CredentialID(app: "x", profile: "p"), CredentialID(app: "a")]
        if case .success(let document) = full {
            ids += document.credentials.prefix(16).map(\.id)
        } else if let root = try? JSON.parse(bytes), case .array(let entries)? = root["credentials"] {
            for entry in entries.prefix(16) {
                guard let app = entry["app"]?.stringValue else { continue }
                ids.append(
                    CredentialID(app: app, profile: entry["profile"]?.stringValue ?? CredentialID.defaultProfile))
            }
        }
        return ids
    }
}
