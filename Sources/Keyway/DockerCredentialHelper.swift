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
        guard let (secret, scopes) = HelperSecret.encode([("secret", credentials.secret.reveal())], plainKey: "secret")
        else { throw KeywayError(.invalidInput, "The secret is longer than 64 KiB once encoded; nothing was stored.") }
        let now = Timestamp.now()
        let existing = try? store.read(id)
        try store.write(
            Credential(
                id: id, secret: secret, account: credentials.username, scopes: scopes,
                created: existing?.created ?? now, updated: now))
    }

    /// The credentials for `serverURL`, or nil.
    public func get(_ serverURL: String) throws(KeywayError) -> DockerCredentialProtocol.Credentials? {
        guard let id = try? Self.id(serverURL), let credential = try store.read(id) else { return nil }
        return Self.credentials(credential)
    }

    /// Whether something was removed.
    public func erase(_ serverURL: String) throws(KeywayError) -> Bool {
        guard let id = try? Self.id(serverURL) else { return false }
        return try store.delete(id)
    }

    /// Every server URL and its username, sorted by URL.
    public func list() throws(KeywayError) -> [(serverURL: String, username: String)] {
        try store.list(app: Self.app).compactMap(Self.credentials).map { ($0.serverURL, $0.username) }
    }
}
