import KeywayCore

/// Stores every credential in one plaintext JSON file (mode 0600), in the format of `CredentialDocument`.
///
/// It protects against other users (permissions, ownership checks) and against loss (atomic, locked writes); it does
/// not protect against anyone who can read files as this user, backups, or disk forensics. SECURITY.md says more.
public struct PlaintextStore: CredentialDocumentStore {
    package let file: ProtectedFile
    public var backendName: String { "plaintext" }
    public var location: String { file.path }
    public var filePath: String? { file.path }

    public init(path: String, strict: Bool = false, warn: WarningHandler? = nil) {
        file = ProtectedFile(path: path, strict: strict, warn: warn, sizeLimit: ProtectedFile.storeSizeLimit)
    }

    public init(paths: KeywayPaths, strict: Bool = false, warn: WarningHandler? = nil) {
        self.init(path: paths.credentialsFile, strict: strict, warn: warn)
    }

    /// Always usable: the only requirement, a writable directory, is checked (and reported) at write time.
    public func availability() -> Availability { .available }

    public func loadDocument() throws(KeywayError) -> CredentialDocument {
        guard let bytes = try file.read() else { return CredentialDocument() }
        return try CredentialDocument(parsing: bytes, source: file.path)
    }

    public func loadCredential(_ id: CredentialID) throws(KeywayError) -> Credential? {
        guard let bytes = try file.read() else { return nil }
        return try CredentialDocument.credential(id, parsing: bytes, source: file.path)
    }

    /// Read-modify-write under the file's lock; a file that cannot be parsed makes the whole operation fail before
    /// anything is written.
    @discardableResult
    public func modifyDocument(
        _ change: (inout CredentialDocument) throws(KeywayError) -> Bool
    ) throws(KeywayError) -> Bool {
        try file.update { bytes throws(KeywayError) in
            var document = CredentialDocument()
            if let bytes { document = try CredentialDocument(parsing: bytes, source: file.path) }
            guard try change(&document) else { return (nil, false) }
            return (document.serialized(), true)
        }
    }
}
