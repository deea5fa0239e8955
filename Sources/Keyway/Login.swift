// `login`'s rule for what a key stored again keeps of what was recorded with it.

/// What a login records with a key besides the key itself (`keyway login`'s `--account`, `--org`, `--scopes`,
/// `--expires`); nil means not given.
public struct LoginDetails: Sendable, Equatable {
    public var account: String?
    public var organization: String?
    /// Given as an empty list, the scopes recorded are cleared.
    public var scopes: [String]?
    public var expires: Day?

    public init(account: String? = nil, organization: String? = nil, scopes: [String]? = nil, expires: Day? = nil) {
        self.account = account
        self.organization = organization
        self.scopes = scopes
        self.expires = expires
    }

    /// The credential a login of `secret` for `id` stores in place of `existing` (what the store holds for `id`, if
    /// anything): when `existing` holds the same key, its creation time is kept and so is each of its account,
    /// organization, scopes and expiry that these details do not give anew; a different key (or none before) gets
    /// only these details, created `now`. It is updated `now` either way.
    public func credential(id: CredentialID, secret: Secret, replacing existing: Credential?, now: Timestamp = .now())
        -> Credential
    {
        var credential = Credential(
            id: id, secret: secret, account: account, organization: organization, scopes: scopes ?? [],
            expires: expires, created: now, updated: now)
        if let existing, existing.secret == secret {
            // The same key again: keep what was recorded with it unless given anew.
            credential.created = existing.created
            credential.account = account ?? existing.account
            credential.organization = organization ?? existing.organization
            credential.scopes = scopes ?? existing.scopes
            credential.expires = expires ?? existing.expires
        }
        return credential
    }
}

extension CredentialStore {
    /// Stores `secret` for `id` as `keyway login` does: reads what the store holds for `id`, merges `details` with it
    /// (`LoginDetails.credential(id:secret:replacing:now:)`) and writes the result, which it returns. The key is not
    /// checked here: check it first with `validateAPIKey` and the app's `AppSpec.checkPrefix`.
    @discardableResult
    public func logIn(
        _ id: CredentialID, secret: Secret, details: LoginDetails = LoginDetails(), now: Timestamp = .now()
    )
        throws(KeywayError) -> Credential
    {
        let credential = details.credential(id: id, secret: secret, replacing: try read(id), now: now)
        try write(credential)
        return credential
    }
}
