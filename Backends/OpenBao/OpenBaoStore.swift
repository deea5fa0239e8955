import Glibc
import KeywayCore
import Synchronization

/// Stores credentials in an OpenBao (or HashiCorp Vault) KV version 2 secrets engine: one entry per (app, profile)
/// at `<mount>/data/<prefix>/<app>/<profile>` holding the key as `api_key`; account, organization, scopes, expiry and
/// the created/updated times in the entry's `custom_metadata` (not secret). Names are encoded as `KVPath` says.
///
/// Writes use check-and-set on the version read (0 for a new entry) and retry a few times when another writer got
/// there first, then fail with `openbaoConflict`. `delete` removes the entry's metadata, so every version goes.
/// Every operation is bounded by `KEYWAY_OPENBAO_TIMEOUT`; every failure is a distinct `KeywayError`.
public struct OpenBaoStore: CredentialStore {
    public let configuration: OpenBaoConfiguration
    let client: KVClient
    /// The version of each entry as this store last read or wrote it (0: read as absent): the check-and-set version
    /// of the next write (`login` reads, merges, writes).
    private let versions = VersionCache()

    /// How many times a write is tried when check-and-set keeps losing.
    static let writeAttempts = 5
    /// `custom_metadata` values are at most 512 bytes on the server.
    static let metadataValueLimit = 512

    let warn: WarningHandler?

    public init(configuration: OpenBaoConfiguration, warn: WarningHandler? = nil) {
        self.configuration = configuration
        self.warn = warn
        client = KVClient(configuration: configuration, warn: warn)
    }

    public init(environment: Environment, warn: WarningHandler? = nil) {
        self.init(configuration: OpenBaoConfiguration(environment: environment), warn: warn)
    }

    /// Starts loading the HTTP library in the background when a server is configured, so that it overlaps the rest
    /// of the command's start-up: for a command about to use this store (never for `backends` or a listing).
    public func prepare() {
        if configuration.address != nil && configuration.problem == nil { HTTPClient.preload() }
    }

    /// Waits until the loading `prepare` started is over (at once when none is under way). Call it before `exit()`:
    /// exit must not tear libraries down under a thread still loading them. `exit` waits too, but only after the
    /// exit handlers the libraries being loaded registered (OpenSSL's among them) have run.
    public static func finishBackgroundLoading() { HTTPClient.finishPreload() }

    public var backendName: String { "openbao" }

    public var location: String {
        let namespace = configuration.namespace.map { ", namespace \($0)" } ?? ""
        return "\(configuration.address ?? "(no BAO_ADDR)") \(configuration.mount)/data/\(configuration.prefix)"
            + namespace
    }

    /// Usable when an address and a token are configured and the server answers that the mount is KV version 2.
    public func availability() -> Availability {
        if let problem = configuration.problem { return .unavailable(reason: problem.message) }
        guard configuration.address != nil else {
            return .unavailable(reason: "no server address: set BAO_ADDR (or VAULT_ADDR)")
        }
        do throws(KeywayError) {
            try client.checkMount(deadline: deadline())
        } catch {
            return .unavailable(reason: error.message)
        }
        return .available
    }

    private func deadline() -> Deadline { Deadline(seconds: configuration.timeout) }

    // MARK: - Paths

    private var mount: String { configuration.mount }
    private var prefix: String { configuration.prefix }

    private func segments(_ id: CredentialID) -> String {
        KVPath.inURL(KVPath.encode(id.app)) + "/" + KVPath.inURL(KVPath.encode(id.profile))
    }
    func dataPath(_ id: CredentialID) -> String { "\(mount)/data/\(prefix)/" + segments(id) }
    func metadataPath(_ id: CredentialID) -> String { "\(mount)/metadata/\(prefix)/" + segments(id) }

    // MARK: - Reading

    public func read(_ id: CredentialID) throws(KeywayError) -> Credential? {
        try read(id, deadline: deadline())
    }

    private func read(_ id: CredentialID, deadline: Deadline) throws(KeywayError) -> Credential? {
        let answer = try client.send("GET", dataPath(id), deadline: deadline)
        if answer.ok {
            let found = try credential(id, from: answer)
            versions.set(id, answer.json?["data"]?["metadata"]?["version"]?.intValue)
            return found
        }
        if answer.isPlainNotFound {
            // A KV version 1 mount answers 404 too: the mount says which.
            try client.checkMount(deadline: deadline)
            // Absent, or its latest version deleted (then the metadata's version is the one to replace).
            versions.set(id, answer.json?["data"]?["metadata"]?["version"]?.intValue ?? 0)
            return nil
        }
        throw client.failure(answer, doing: "read \(id)", deadline: deadline)
    }

    private func credential(_ id: CredentialID, from answer: Answer) throws(KeywayError) -> Credential {
        let data = answer.json?["data"]
        guard let key = data?["data"]?["api_key"]?.stringValue else {
            throw KeywayError(
                .malformedFile,
                "The entry for \(id) in \(configuration.mount)/\(configuration.prefix) on \(client.serverName) has no "
                    + "api_key string; Keyway leaves it alone (replace it with keyway login).")
        }
        let metadata = data?["metadata"]
        var custom = metadata?["custom_metadata"]
        // The details are written after the key, in a request of their own, tagged with the key version they go
        // with (`key_version`). Another version since (a host or tool that wrote the key after, or two hosts writing
        // at once, whose details requests crossed) means they may be another key's: left out, with a warning.
        // Details without a tag (written before Keyway tagged them, or by another tool) are taken as they are.
        if let tagged = custom?["key_version"], let version = metadata?["version"]?.intValue,
            tagged.stringValue != String(version)
        {
            // Any writer can put anything there: only a plain version number is repeated.
            let text = tagged.stringValue.flatMap { Int($0).map { "version \($0)" } } ?? "an unreadable version"
            warn?(
                KeywayWarning(
                    .openbaoDetailsOfAnotherVersion,
                    "The account, organization, scopes and expiry stored with \(id) on \(client.serverName) were "
                        + "written with \(text) of its key, which is now at version \(version) (written since by "
                        + "another host or tool), so they are left out. Store the credential again (keyway login) to "
                        + "set them."))
            custom = nil
        }
        func text(_ name: String) -> String? { custom?[name]?.stringValue }
        var scopes: [String] = []
        if let list = text("scopes"), let parsed = try? JSON.parse(list), case .array(let items) = parsed {
            scopes = items.compactMap(\.stringValue)
        }
        let serverCreated = metadata?["created_time"]?.stringValue.flatMap(Self.serverTime)
        let created = text("created").flatMap { Timestamp(parsing: $0) } ?? serverCreated ?? .now()
        let updated = text("updated").flatMap { Timestamp(parsing: $0) } ?? created
        return Credential(
            id: id, secret: Secret(key), account: text("account"), organization: text("organization"),
            scopes: scopes, expires: text("expires").flatMap { Day(parsing: $0) }, created: created, updated: updated)
    }

    /// The server's `created_time` (RFC 3339 with nanoseconds).
    private static func serverTime(_ text: String) -> Timestamp? {
        Timestamp(parsing: text)
    }

    public func list(app: String?) throws(KeywayError) -> [Credential] {
        let apps: [String]
        if let app {
            apps = [app]
        } else {
            apps = try listFolder("\(mount)/metadata/\(prefix)/", what: "list the apps").folders
        }
        var credentials: [Credential] = []
        for app in apps {
            let folder = "\(mount)/metadata/\(prefix)/" + KVPath.inURL(KVPath.encode(app)) + "/"
            for profile in try listFolder(folder, what: "list the profiles of \(APIKeyRules.shownName(app))").entries {
                let id = CredentialID(app: app, profile: profile)
                if let credential = try read(id, deadline: deadline()) { credentials.append(credential) }
            }
        }
        return credentials.sorted { $0.id < $1.id }
    }

    /// The decoded names of the folders (`app/`) and entries directly in `path`; both empty when there is nothing.
    private func listFolder(_ path: String, what: String) throws(KeywayError) -> (folders: [String], entries: [String])
    {
        let deadline = deadline()
        let answer = try client.send("LIST", path, deadline: deadline)
        if answer.isPlainNotFound {
            try client.checkMount(deadline: deadline)
            return ([], [])
        }
        guard answer.ok else { throw client.failure(answer, doing: what, deadline: deadline) }
        guard case .array(let keys)? = answer.json?["data"]?["keys"] else {
            throw KeywayError(.openbaoServer, "\(client.serverAtStart) answered a LIST without a list of keys.")
        }
        var folders: [String] = []
        var entries: [String] = []
        for case .string(let key) in keys {
            if key.hasSuffix("/") {
                if let name = KVPath.decode(String(key.dropLast())) { folders.append(name) }
            } else if let name = KVPath.decode(key) {
                entries.append(name)
            }
        }
        return (folders, entries)
    }

    // MARK: - Writing

    public func write(_ credential: Credential) throws(KeywayError) {
        try credential.validate()
        let custom = try customMetadata(credential)
        let deadline = deadline()
        try client.checkMount(deadline: deadline)
        let key = credential.secret.reveal()
        var written = false
        // The version the server gave the key written (nil if it named none).
        var writtenVersion: Int?
        for attempt in 0..<Self.writeAttempts {
            // First the version this store read (what the caller based the write on), then the server's.
            let known = attempt == 0 ? versions.get(credential.id) : nil
            let version: Int
            if let known { version = known } else { version = try currentVersion(credential.id, deadline: deadline) }
            let body = JSON.object([
                ("options", .object([("cas", .int(version))])),
                ("data", .object([("api_key", .string(key))])),
            ])
            let answer = try client.send("POST", dataPath(credential.id), body: body, deadline: deadline, redact: [key])
            if answer.ok {
                written = true
                writtenVersion = answer.json?["data"]?["version"]?.intValue
                versions.set(credential.id, writtenVersion)
                break
            }
            guard Self.isCASMismatch(answer) else {
                throw client.failure(answer, doing: "store \(credential.id)", deadline: deadline, redact: [key])
            }
            // Another writer got there first: read its version and try again, after a short random pause.
            if attempt < Self.writeAttempts - 1 { usleep(UInt32.random(in: 5_000...40_000) << UInt32(min(attempt, 3))) }
        }
        guard written else {
            throw KeywayError(
                .openbaoConflict,
                "Conflict: \(credential.id) was changed on \(client.serverName) by another writer each of the "
                    + "\(Self.writeAttempts) times Keyway tried to store it (check-and-set), so it was not stored. "
                    + "Check what is stored now (keyway get) and try again.")
        }
        // The key version these details go with (`credential(_:from:)` checks it); none if the server named none.
        let tagged = writtenVersion.map { custom + [("key_version", .string(String($0)))] } ?? custom
        let metadata = JSON.object([("custom_metadata", .object(tagged))])
        let answer = try client.send("POST", metadataPath(credential.id), body: metadata, deadline: deadline)
        guard answer.ok else {
            let error = client.failure(answer, doing: "store the details of \(credential.id)", deadline: deadline)
            throw KeywayError(
                error.code,
                error.message + " The key itself was stored; its account, organization, scopes and expiry were "
                    + "not.")
        }
    }

    private static func isCASMismatch(_ answer: Answer) -> Bool {
        answer.status == 400 && answer.errors.contains { $0.contains("check-and-set") }
    }

    /// The entry's current version, 0 when there is none.
    private func currentVersion(_ id: CredentialID, deadline: Deadline) throws(KeywayError) -> Int {
        let answer = try client.send("GET", metadataPath(id), deadline: deadline)
        if answer.isPlainNotFound { return 0 }
        guard answer.ok else { throw client.failure(answer, doing: "read the version of \(id)", deadline: deadline) }
        guard let version = answer.json?["data"]?["current_version"]?.intValue else {
            throw KeywayError(.openbaoServer, "\(client.serverAtStart) gave no current_version for \(id).")
        }
        return version
    }

    /// account, organization, scopes (a JSON array), expires, created, updated: each at most 512 bytes.
    private func customMetadata(_ credential: Credential) throws(KeywayError) -> [(String, JSON)] {
        var members: [(String, String)] = []
        if let account = credential.account { members.append(("account", account)) }
        if let organization = credential.organization { members.append(("organization", organization)) }
        if !credential.scopes.isEmpty {
            members.append(("scopes", JSON.array(credential.scopes.map { .string($0) }).serialized(pretty: false)))
        }
        if let expires = credential.expires { members.append(("expires", expires.description)) }
        members.append(("created", credential.created.description))
        members.append(("updated", credential.updated.description))
        for (name, value) in members where value.utf8.count > Self.metadataValueLimit {
            throw KeywayError(
                .invalidInput,
                "The \(name) of \(credential.id) is longer than \(Self.metadataValueLimit) bytes, the most an OpenBao "
                    + "entry's custom metadata holds; nothing was stored.")
        }
        return members.map { ($0.0, .string($0.1)) }
    }

    // MARK: - Removing

    @discardableResult
    public func delete(_ id: CredentialID) throws(KeywayError) -> Bool {
        let deadline = deadline()
        let found = try client.send("GET", metadataPath(id), deadline: deadline)
        if found.isPlainNotFound {
            try client.checkMount(deadline: deadline)
            return false
        }
        guard found.ok else { throw client.failure(found, doing: "read \(id)", deadline: deadline) }
        let answer = try client.send("DELETE", metadataPath(id), deadline: deadline)
        guard answer.ok else { throw client.failure(answer, doing: "remove \(id)", deadline: deadline) }
        versions.set(id, 0)
        return true
    }
}

/// Entry versions by credential, shared by a store's copies.
final class VersionCache: Sendable {
    private let versions = Mutex<[CredentialID: Int]>([:])
    func get(_ id: CredentialID) -> Int? { versions.withLock { $0[id] } }
    func set(_ id: CredentialID, _ version: Int?) { versions.withLock { $0[id] = version } }
}
