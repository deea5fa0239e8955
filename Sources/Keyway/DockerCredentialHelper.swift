/// docker's credential helper on any Keyway store (`docker-credential-keyway` / `keyway docker-credential`).
///
/// Storage: one Keyway credential per server URL, in the app namespace `docker-credential`: the profile is the
/// server URL as docker gives it, the account the username (`<token>` for an identity token, kept as is), the
/// secret docker's secret (`HelperSecret`: encoded when it is one an API key could not be).
public struct DockerCredentialHelper: Sendable {
    public static let app = "docker-credential"

    public let store: any CredentialStore

    public init(store: any CredentialStore) { self.store = store }

    typealias Failure = DockerCredentialProtocol.Failure

    static func id(_ serverURL: String) throws(Failure) -> CredentialID {
        let id = CredentialID(app: app, profile: serverURL)
        if let problem = id.problem {
            throw Failure("The server URL cannot be stored: it \(problem.dropFirst("profile name ".count)).")
        }
        return id
    }

    static func credentials(_ credential: Credential) -> DockerCredentialProtocol.Credentials? {
        guard credential.id.app == app, let fields = HelperSecret.decode(credential, plainKey: "secret"),
            let secret = fields["secret"]
        else { return nil }
        return DockerCredentialProtocol.Credentials(
            serverURL: credential.id.profile, username: credential.account ?? "", secret: Secret(secret))
    }

    public func store(_ credentials: DockerCredentialProtocol.Credentials) throws(KeywayError) {
        let id: CredentialID
        do throws(Failure) { id = try Self.id(credentials.serverURL) } catch {
            throw KeywayError(.invalidInput, error.message)
        }
        let (secret, scopes) = try HelperSecret.encode([("secret", credentials.secret.reveal())], plainKey: "secret")
        let now = Timestamp.now()
        let existing = try? store.read(id)
        try store.write(
            Credential(
                id: id, secret: secret, account: credentials.username, scopes: scopes,
                created: existing?.created ?? now, updated: now))
    }

    /// The credentials for `serverURL`, or nil: Keyway's own, else docker-credential-secretservice's item in the
    /// keyring (`KeyringInterop`).
    public func get(_ serverURL: String) throws(KeywayError) -> DockerCredentialProtocol.Credentials? {
        if let id = try? Self.id(serverURL), let credential = try store.read(id) { return Self.credentials(credential) }
        return try KeyringInterop.dockerItems(in: store, serverURL: serverURL).first?.credentials
    }

    /// Whether something was removed: Keyway's entry, and docker-credential-secretservice's item for the URL.
    public func erase(_ serverURL: String) throws(KeywayError) -> Bool {
        var removed = false
        if let id = try? Self.id(serverURL) { removed = try store.delete(id) }
        for item in try KeyringInterop.dockerItems(in: store, serverURL: serverURL) {
            try KeyringInterop.keyring(of: store)?.deleteForeignItem(path: item.path)
            removed = true
        }
        return removed
    }

    /// Every server URL and its username, sorted by URL: Keyway's own, and docker-credential-secretservice's items
    /// for other URLs.
    public func list() throws(KeywayError) -> [(serverURL: String, username: String)] {
        var entries = try store.list(app: Self.app).compactMap(Self.credentials).map { ($0.serverURL, $0.username) }
        for item in try KeyringInterop.dockerItems(in: store)
        where !entries.contains(where: { $0.0.utf8.elementsEqual(item.credentials.serverURL.utf8) }) {
            entries.append((item.credentials.serverURL, item.credentials.username))
        }
        return entries.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
    }

    /// What `importExisting` did.
    public struct ImportReport: Sendable {
        /// The server URLs imported.
        public var imported: [String] = []
        /// How many docker-credential-secretservice items were deleted (with `remove`).
        public var removedItems = 0
        /// Whether `~/.docker/config.json` was rewritten (with `remove`).
        public var configRewritten = false
        /// Whether `remove` has anything to do: keyring items to delete, or a config to rewrite (counted with or
        /// without it).
        public var removalPending = false
    }

    /// docker's user name for an identity token (docker's `nativeStore` stores `<token>` and the token as secret).
    public static let tokenUsername = "<token>"

    /// Copies docker-credential-secretservice's items and the `auths` of `~/.docker/config.json` (`configFile`,
    /// when given) that hold a base64 `auth` or an `identitytoken` into Keyway's store; an entry Keyway already
    /// holds is kept. With `remove`, then deletes the keyring items copied or already held with the same secret, and
    /// rewrites the config (`rewriteConfig`) whenever anything was copied, so docker asks Keyway from then on.
    public func importExisting(configFile: String?, remove: Bool = false) throws(KeywayError) -> ImportReport {
        var report = ImportReport()
        var paths: [String] = []
        var servers: [String] = []
        func add(_ credentials: DockerCredentialProtocol.Credentials) throws(KeywayError) -> Bool {
            guard let id = try? Self.id(credentials.serverURL) else { return false }
            if let held = try store.read(id) {
                // Already held: the original counts as copied when Keyway holds the same secret.
                return Self.credentials(held).map { $0.secret == credentials.secret } ?? false
            }
            try store(credentials)
            report.imported.append(credentials.serverURL)
            return true
        }
        for item in try KeyringInterop.dockerItems(in: store) where try add(item.credentials) {
            paths.append(item.path)
        }
        if let configFile, let bytes = try ProtectedFile(path: configFile, sizeLimit: 1 << 20).read(),
            case .object(let auths)? = try? JSON.parse(bytes)["auths"]
        {
            for (server, entry) in auths {
                guard let credentials = Self.configCredentials(server: server, entry: entry) else { continue }
                if try add(credentials) { servers.append(server) }
            }
        }
        report.removalPending = !paths.isEmpty || !servers.isEmpty
        guard remove else { return report }
        for path in paths where try KeyringInterop.keyring(of: store)?.deleteForeignItem(path: path) == true {
            report.removedItems += 1
        }
        // docker with no credsStore uses docker-credential-secretservice when it is installed: the config is written
        // even when it names none, or is missing, once the items are gone.
        if let configFile, !paths.isEmpty || !servers.isEmpty {
            try Self.rewriteConfig(configFile, removingAuthOf: servers)
            report.configRewritten = true
        }
        return report
    }

    /// The credentials one `auths` entry of docker's config holds: its `identitytoken` (as docker's `<token>`
    /// user), else its base64 `user:secret` `auth`.
    static func configCredentials(server: String, entry: JSON) -> DockerCredentialProtocol.Credentials? {
        if let token = entry["identitytoken"]?.stringValue, !token.isEmpty {
            return .init(serverURL: server, username: tokenUsername, secret: Secret(token))
        }
        guard let auth = entry["auth"]?.stringValue, var decoded = Base64.decode(auth) else { return nil }
        defer { decoded.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
        guard let text = String(validating: decoded, as: UTF8.self), let colon = text.firstIndex(of: ":") else {
            return nil
        }
        return .init(
            serverURL: server, username: String(text[..<colon]),
            secret: Secret(String(text[text.index(after: colon)...])))
    }

    /// Rewrites `~/.docker/config.json` once Keyway holds its `auths`: the `auth` and `identitytoken` values of each
    /// of `servers` are removed (the entry stays, empty, as docker leaves it with a credential store) and
    /// `credsStore` is set to `keyway`; every other field is kept as it was. A missing file is written with
    /// `credsStore` alone. Through `ProtectedFile` (locked, atomic, 0600).
    static func rewriteConfig(_ path: String, removingAuthOf servers: [String]) throws(KeywayError) {
        try ProtectedFile(path: path, sizeLimit: 1 << 20).update {
            bytes throws(KeywayError) -> (contents: [UInt8]?, result: Void) in
            guard let bytes else {
                return (Array(JSON.object([("credsStore", .string("keyway"))]).serialized().utf8) + [0x0A], ())
            }
            guard case .object(let fields)? = try? JSON.parse(bytes) else {
                throw KeywayError(.malformedFile, "\(path) is not a JSON object; it was not changed.", path: path)
            }
            var out: [(String, JSON)] = []
            for (key, value) in fields {
                switch (key, value) {
                case ("auths", .object(let auths)):
                    out.append(
                        (
                            key,
                            .object(
                                auths.map { server, entry in
                                    guard servers.contains(server), case .object(let inner) = entry else {
                                        return (server, entry)
                                    }
                                    return (server, .object(inner.filter { $0.0 != "auth" && $0.0 != "identitytoken" }))
                                })
                        ))
                case ("credsStore", _): continue
                default: out.append((key, value))
                }
            }
            out.append(("credsStore", .string("keyway")))
            return (Array(JSON.object(out).serialized().utf8) + [0x0A], ())
        }
    }
}
