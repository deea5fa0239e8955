/// A store that keeps every credential in one `CredentialDocument` (the plaintext file, the encrypted vault). It
/// supplies loading the document and a locked read-modify-write; the `CredentialStore` operations come from here, so
/// every file-based backend behaves the same way.
public protocol CredentialDocumentStore: CredentialStore {
    /// The current document; an empty one when the store has no file yet.
    func loadDocument() throws(KeywayError) -> CredentialDocument
    /// One credential, or nil; stores override it to avoid building every other credential.
    func loadCredential(_ id: CredentialID) throws(KeywayError) -> Credential?
    /// Read-modify-write under the store's lock. `change` returns whether it changed anything; nothing is written
    /// when it returns false or throws, or when the current document cannot be read.
    @discardableResult
    func modifyDocument(_ change: (inout CredentialDocument) throws(KeywayError) -> Bool) throws(KeywayError) -> Bool
}

extension CredentialDocumentStore {
    public func loadCredential(_ id: CredentialID) throws(KeywayError) -> Credential? {
        try loadDocument().usableCredential(id)
    }

    public func read(_ id: CredentialID) throws(KeywayError) -> Credential? {
        try loadCredential(id)
    }

    public func list(app: String?) throws(KeywayError) -> [Credential] {
        try loadDocument().usableCredentials(app: app)
    }

    public func write(_ credential: Credential) throws(KeywayError) {
        try credential.validate()
        try modifyDocument { document throws(KeywayError) in
            document.upsert(credential)
            return true
        }
    }

    @discardableResult
    public func delete(_ id: CredentialID) throws(KeywayError) -> Bool {
        try modifyDocument { document throws(KeywayError) in document.remove(id) }
    }

    @discardableResult
    public func deleteAll(app: String) throws(KeywayError) -> [CredentialID] {
        var removed: [CredentialID] = []
        try modifyDocument { document throws(KeywayError) in
            removed = document.removeAll(app: app)
            return !removed.isEmpty
        }
        return removed
    }
}
