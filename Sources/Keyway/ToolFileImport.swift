// `import`'s copy: a key from one of an app's own credentials files into Keyway's store.

extension ResolutionEngine {
    /// This engine without the environment variables: only the spec's sources (the app's own files and Keyway's
    /// store) are read. Everything else of the spec (prefix rules, token kinds, not-found message, rotation period)
    /// stays as it is.
    public var sourcesOnly: ResolutionEngine {
        var spec = self.spec
        spec.environmentVariables = []
        return ResolutionEngine(
            spec: spec, environment: environment, store: store, workingDirectory: workingDirectory, strict: strict,
            today: today)
    }
}

/// A key found in one of an app's own credentials files, to be copied into Keyway's store (`keyway import`).
public struct ToolFileKey: Sendable {
    /// The app and profile the key is for.
    public let id: CredentialID
    /// The key, with what the file records with it (account, organization, scopes, expiry).
    public let key: ResolvedKey
    /// The file it is in.
    public let path: String
    /// The engine that found it (`sourcesOnly`), to read the file again with (`contents(ofFile:bytes:)`).
    public let engine: ResolutionEngine
    /// The search's warnings (git, permissions, the file's expiry...), without rotation reminders: they are about a
    /// stored key's age, not the file's.
    public let warnings: [KeywayWarning]

    /// What `find` found.
    public enum Search: Sendable {
        case found(ToolFileKey)
        /// None of the app's files holds a key for the profile; the files looked in, in order (empty: the app's spec
        /// names none).
        case notFound(searched: [String])
    }

    /// Where `copy` left the key.
    public enum Outcome: Sendable {
        /// Stored (and read back): the credential written.
        case imported(Credential)
        /// Not stored: the store already holds a different key for the profile (`stored`), which an import never
        /// replaces.
        case conflict(stored: Credential)
    }

    /// Looks for the key of `profile` in the app's own files, in the order of `engine`'s spec, leaving `--api-key`
    /// and the environment out. A file that cannot be read is thrown.
    public static func find(profile: String, engine: ResolutionEngine) throws(KeywayError) -> Search {
        let fileEngine = engine.sourcesOnly
        let resolution = try fileEngine.resolve(profile: profile, explain: true)
        if let error = resolution.error { throw error }
        let fileLayers = resolution.layers.filter { $0.kind == .file }
        guard let layer = fileLayers.first(where: { $0.key != nil }), let found = layer.key,
            case .file(let path) = found.source
        else { return .notFound(searched: fileLayers.map(\.name)) }
        return .found(
            ToolFileKey(
                id: resolution.id, key: found, path: path, engine: fileEngine,
                warnings: resolution.warnings.filter { $0.code != .rotate }))
    }

    /// Copies the key into `store`: checks it against the spec's prefix rules (a required prefix it lacks is thrown,
    /// an unexpected one and the other storing warnings go to `warn`), then, unless the store holds a different key
    /// for the profile, writes it with what the file records and reads it back; a store that does not return it is
    /// an error.
    public func copy(into store: any CredentialStore, warn: WarningHandler?, now: Timestamp = .now())
        throws(KeywayError) -> Outcome
    {
        let spec = engine.spec
        if let warning = try spec.checkPrefix(key.secret) { warn?(warning) }
        // The file's expiry was already warned about by the search.
        spec.storingWarnings(key.secret, expires: nil).forEach { warn?($0) }
        // A different key already in use from the store is never replaced by an import.
        if let existing = try store.read(id), existing.secret != key.secret { return .conflict(stored: existing) }
        let credential = Credential(
            id: id, secret: key.secret, account: key.account, organization: key.organization, scopes: key.scopes,
            expires: key.expires, created: now, updated: now)
        try store.write(credential)
        guard let readBack = try store.read(id), readBack.secret == key.secret else {
            throw KeywayError(
                .io,
                "The \(store.backendName) store did not return the key just written for \(id); "
                    + "\(path) was left in place.")
        }
        return .imported(credential)
    }
}
