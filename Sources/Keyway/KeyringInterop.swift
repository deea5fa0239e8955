/// The keyring items other credential helpers stored, read by Keyway's helpers so a user who switches loses nothing.
///
/// - git-credential-libsecret (git's contrib/credential/libsecret): attributes `protocol`, `server` (the host without
///   its port), `port` (when there is one), `user`, `object` (the path); schema `org.gnome.keyring.NetworkPassword`
///   (git 2.39, Debian 12; read only for `networkPasswordProtocols` and without GVfs's `domain`, since GVfs shares
///   it) or `org.git.Password` (newer git, whose secret is the password, then after a newline
///   `password_expiry_utc=N` and `oauth_refresh_token=T` lines).
/// - docker-credential-secretservice (docker-credential-helpers): schema `io.docker.Credentials`, attributes
///   `label=Docker Credentials`, `server` (the server URL), `username`, `docker_cli=1`; the secret is docker's secret.
///
/// They are read only where the store is the keyring, or `auto` with a keyring candidate that answers; a keyring
/// that is not there at all is no error for `auto`.
enum KeyringInterop {
    static let gitSchemas = ["org.gnome.keyring.NetworkPassword", "org.git.Password"]
    static let dockerSchema = "io.docker.Credentials"
    /// git's protocols read from an `org.gnome.keyring.NetworkPassword` item: those of git's remotes over HTTP and
    /// of git send-email; any other (GVfs's smb, sftp, ftp, dav) is another program's.
    static let networkPasswordProtocols: Set<String> = ["http", "https", "smtp"]

    /// The keyring `store` reads: itself, or `auto`'s keyring candidate.
    static func keyring(of store: any CredentialStore) -> SecretServiceStore? {
        if let keyring = store as? SecretServiceStore { return keyring }
        if let auto = store as? AutoStore { return auto.candidates.lazy.compactMap { $0 as? SecretServiceStore }.first }
        return nil
    }

    /// Items matching `attributes` in the keyring of `store`; none when it has none (or, for `auto`, when the
    /// keyring cannot be used here at all).
    static func items(in store: any CredentialStore, matching attributes: [String: String]) throws(KeywayError)
        -> [ForeignKeyringItem]
    {
        guard let keyring = keyring(of: store) else { return [] }
        do throws(KeywayError) {
            return try keyring.foreignItems(matching: attributes)
        } catch  where store is AutoStore && error.meansBackendUnusable {
            return []
        }
    }

    // MARK: - git

    /// git-credential-libsecret's items for a request: searched by protocol, server and user as it does, then
    /// matched as Keyway's own entries are.
    static func gitItems(in store: any CredentialStore, for request: GitCredentialMessage) throws(KeywayError)
        -> [GitCredentialHelper.Entry]
    {
        var attributes: [String: String] = [:]
        if let value = request.protocolName { attributes["protocol"] = value }
        if let host = request.host { attributes["server"] = GitCredentialProfile.splitHost(host).server }
        if let value = request.username { attributes["user"] = value }
        guard !attributes.isEmpty else { return [] }
        return try items(in: store, matching: attributes).compactMap(gitEntry)
    }

    /// Every git-credential-libsecret item (for `keyway import git`).
    static func allGitItems(in store: any CredentialStore) throws(KeywayError) -> [GitCredentialHelper.Entry] {
        var entries: [GitCredentialHelper.Entry] = []
        for schema in gitSchemas {
            entries += try items(in: store, matching: ["xdg:schema": schema]).compactMap(gitEntry)
        }
        return entries
    }

    static func gitEntry(_ item: ForeignKeyringItem) -> GitCredentialHelper.Entry? {
        let a = item.attributes
        guard let protocolName = a["protocol"], let server = a["server"], let text = item.secret?.reveal() else {
            return nil
        }
        if let schema = a["xdg:schema"], !gitSchemas.contains(schema) { return nil }
        // Keyway's own git credentials that libsecret's helper can read carry its attributes and schema too
        // (ItemFormat): they are Keyway credentials (app `git-credential`), read as such, never as foreign items. An
        // item with a `service` attribute is one of Keyway's (or python keyring's) credentials, never libsecret's.
        if a["service"] != nil { return nil }
        // The old schema is GNOME's network-password one, which GVfs (smb, sftp, ftp, dav; a `domain`) shares.
        if a["xdg:schema"] != "org.git.Password", a["domain"] != nil || !networkPasswordProtocols.contains(protocolName)
        {
            return nil
        }
        // The password, then (newer git) key=value lines.
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var fields = ["password": String(lines[0])]
        var expiry: Int64?
        for line in lines.dropFirst() {
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<equals]), value = String(line[line.index(after: equals)...])
            if key == "password_expiry_utc" {
                expiry = Int64(value)
            } else if key == "oauth_refresh_token" {
                fields[key] = value
            }
        }
        let host = a["port"].map { "\(server):\($0)" } ?? server
        return GitCredentialHelper.Entry(
            protocolName: protocolName, host: host, path: a["object"].flatMap { $0.isEmpty ? nil : $0 },
            username: a["user"], fields: fields, passwordExpiryUTC: expiry,
            updated: Timestamp(secondsSinceEpoch: item.modified), origin: .libsecret(path: item.path))
    }

    // MARK: - docker

    /// docker-credential-secretservice's items, as docker credentials (for `get`, `list` and `keyway import docker`).
    static func dockerItems(in store: any CredentialStore, serverURL: String? = nil) throws(KeywayError)
        -> [(credentials: DockerCredentialProtocol.Credentials, path: String)]
    {
        var attributes = ["docker_cli": "1"]
        if let serverURL { attributes["server"] = serverURL }
        return try items(in: store, matching: attributes).compactMap { item in
            let a = item.attributes
            guard let server = a["server"], let secret = item.secret,
                a["xdg:schema"] == nil || a["xdg:schema"] == dockerSchema
            else { return nil }
            return (.init(serverURL: server, username: a["username"] ?? "", secret: secret), item.path)
        }.sorted { $0.credentials.serverURL.utf8.lexicographicallyPrecedes($1.credentials.serverURL.utf8) }
    }
}

// MARK: - a spec's keyring sources

/// The engine's `ForeignKeyringReader`: other programs' items (a spec's `keyring` sources, gh's `gh:HOST`) in the
/// keyring of the store in use, with the credential helpers' rules (`KeyringInterop.items`): read only where the
/// store is the keyring or `auto` with a keyring candidate; a keyring that is not there at all is no error for
/// `auto` (the source is `skipped`, with why). A locked collection is unlocked as for `list`, or the error says it
/// is locked.
public struct StoreKeyringReader: ForeignKeyringReader {
    public let store: any CredentialStore

    public init(store: any CredentialStore) { self.store = store }

    public func items(matching attributes: [String: String]) throws(KeywayError) -> ForeignKeyringLookup {
        guard let keyring = KeyringInterop.keyring(of: store) else {
            return .unavailable(
                "the \(store.backendName) store is in use; another program's keyring item is read only with the "
                    + "keyring backend (or auto with a keyring)")
        }
        let found: [ForeignKeyringItem]
        do throws(KeywayError) {
            found = try keyring.foreignItems(matching: attributes)
        } catch  where store is AutoStore && error.meansBackendUnusable {
            return .unavailable("no keyring here (auto): \(error.message)")
        }
        return .items(found.map { ForeignKeyringSecret(path: $0.path, modified: $0.modified, secret: $0.secret) })
    }
}
