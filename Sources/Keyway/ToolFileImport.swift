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
            today: today, foreignKeyring: foreignKeyring)
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
        /// The first of the app's own sources that holds a key for the profile is a keyring item (the layer's
        /// name): not imported (the tool keeps it there, and Keyway reads it there).
        case inKeyring(String)
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
        if let layer = resolution.layers.first(where: { ($0.kind == .file || $0.kind == .keyring) && $0.key != nil }),
            layer.kind == .keyring
        {
            return .inKeyring(layer.name)
        }
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

extension ToolFileKey {
    /// The file as `find` left it, taken before `copy` so that `removeFile` deletes only that file, unchanged: a
    /// snapshot of its bytes and identity, or the target it links to (a symbolic link is never removed).
    public struct FileState: Sendable {
        let strict: Bool
        let linkTarget: String?
        let before: FileSnapshot?
    }

    /// Takes the file's state for `removeFile` (`keyway import --remove`): call it right after `find`, before `copy`.
    /// `strict` refuses a file that group or others can access. A file that cannot be read is thrown.
    public func fileState(strict: Bool) throws(KeywayError) -> FileState {
        if let st = try? Sys.lstat(path), FileMode.isSymlink(st) {
            let target = (try? Sys.realpath(path)) ?? "(a target that cannot be resolved)"
            return FileState(strict: strict, linkTarget: target, before: nil)
        }
        return FileState(
            strict: strict, linkTarget: nil, before: try ProtectedFile(path: path, strict: strict).snapshot())
    }

    /// Deletes the file the key came from, as `keyway import --remove` does once `copy` stored the key in `store`,
    /// and only when nothing would be lost: the file is the one `state` recorded (not a symbolic link), unchanged
    /// since, still holds this key, every other profile in it is in `store` with the same key and details, and it
    /// holds nothing else. Each refusal is a `KeywayError` (`unsafeFile`, `fileChanged`, `invalidInput`) naming the
    /// file and what to do; the file is then left as it is.
    public func removeFile(_ state: FileState, storedIn store: any CredentialStore) throws(KeywayError) {
        if let linkTarget = state.linkTarget {
            throw KeywayError(
                .unsafeFile,
                "Imported, but not removing \(path): it is a symbolic link to \(linkTarget), which holds the key "
                    + "(removing the link would leave the key there). If you mean to, remove the key from "
                    + "\(linkTarget) yourself, then the link.", path: path)
        }
        let app = id.app
        let changed = KeywayError(
            .fileChanged,
            "Not removing \(path): it changed while the key was being imported. The \(store.backendName) store "
                + "holds the key read before the change, which may be the old one. To store what the file holds "
                + "now, run keyway logout \(app) --profile \(id.profile) --backend \(store.backendName), then "
                + "keyway import \(app) --profile \(id.profile) --remove again.", path: path)
        let file = ProtectedFile(path: path, strict: state.strict)
        guard let before = state.before, let current = try file.snapshot(), current == before,
            let contents = try engine.contents(ofFile: path, bytes: current.bytes),
            contents.keys.contains(where: { $0.id == id && $0.secret == key.secret })
        else { throw changed }
        // A file of several profiles goes once the store holds every one of them with the key the file holds.
        let (notInStore, otherDetails) = try contents.unstored(in: store)
        if !notInStore.isEmpty {
            let one = notInStore.count == 1
            throw KeywayError(
                .invalidInput,
                "Not removing \(path): it also holds the profile\(one ? "" : "s") "
                    + "\(notInStore.joined(separator: ", ")), whose key\(one ? " is" : "s are") not in the "
                    + "\(store.backendName) store. Import \(one ? "it" : "them") too (keyway import \(app) "
                    + "--profile NAME --remove: the file goes once the store holds every profile) or remove the "
                    + "file by hand.")
        }
        // Only a file of nothing but keys the store now holds goes; anything else in it would be lost.
        let others =
            contents.others
            + otherDetails.map {
                "an account, organization, expiry or scopes of the profile \($0) that differ from the store's"
            }
        if !others.isEmpty {
            throw KeywayError(
                .invalidInput,
                "Imported, but not removing \(path): besides the key\(contents.keys.count == 1 ? "" : "s") now in "
                    + "the \(store.backendName) store it holds \(others.joined(separator: "; ")), which Keyway "
                    + "does not store. Remove the key\(contents.keys.count == 1 ? "" : "s") from \(path) by hand "
                    + "(or the whole file once you no longer need the rest).", path: path)
        }
        guard try file.removeIfUnchanged(current) else { throw changed }
    }
}
