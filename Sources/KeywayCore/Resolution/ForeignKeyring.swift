/// Reads items other programs keep in the system keyring (a spec's `keyring` sources, gh's `gh:HOST`). Core reads
/// no keyring itself: the umbrella gives the engine one (the Secret Service backend's lookup of other programs'
/// items), or none.
public protocol ForeignKeyringReader: Sendable {
    /// The items whose attributes include `attributes`, with their secrets; `.unavailable` (with why) when there is
    /// no keyring to read here, which is no error (`auto` without a Secret Service, a file backend).
    func items(matching attributes: [String: String]) throws(KeywayError) -> ForeignKeyringLookup
}

/// What a `ForeignKeyringReader` found.
public enum ForeignKeyringLookup: Sendable {
    case unavailable(String)
    case items([ForeignKeyringSecret])
}

/// Another program's keyring item as a `keyring` source reads it.
public struct ForeignKeyringSecret: Sendable {
    /// The item's object path.
    public let path: String
    /// Seconds since the epoch of its last change.
    public let modified: Int64
    /// Its secret as text; nil when it is not UTF-8.
    public let secret: Secret?

    public init(path: String, modified: Int64, secret: Secret?) {
        self.path = path
        self.modified = modified
        self.secret = secret
    }
}

extension ResolutionEngine {
    /// The attributes a `keyring` source searches for `id` and the layer's name (`service="gh:HOST" username=""`,
    /// a profile that may be a key not shown); nil attributes when the source holds no key for the profile.
    func keyringSearch(_ item: AppSpec.KeyringItem, id: CredentialID) throws(KeywayError) -> (
        attributes: [String: String]?, name: String, note: String
    ) {
        let host = try host(variables: item.hostVariables, defaultHost: item.defaultHost)
        let isDefault = id.profile == CredentialID.defaultProfile
        let template = isDefault ? item.attributes : item.profileAttributes
        // One pass: a profile name holding "{host}" (or a host holding "{profile}") stays as it is.
        func substitute(_ value: String, profile: String) -> String {
            value.split(separator: "{profile}", omittingEmptySubsequences: false)
                .map { $0.replacing("{host}", with: host?.host ?? "") }.joined(separator: profile)
        }
        let shown = (template ?? item.attributes ?? item.profileAttributes ?? [:]).sorted { $0.key < $1.key }
            .map {
                "\($0.key)=\"\(substitute($0.value, profile: isDefault ? "{profile}" : APIKeyRules.shownName(id.profile)))\""
            }
        let note = host?.chosenBy.map { " (host from \($0))" } ?? ""
        return (
            template?.mapValues { substitute($0, profile: id.profile) },
            shown.joined(separator: " "), note
        )
    }

    /// A `keyring` source's reading for `id`.
    func readKeyring(_ item: AppSpec.KeyringItem, id: CredentialID) throws(KeywayError) -> Reading {
        let (attributes, name, note) = try keyringSearch(item, id: id)
        guard let attributes else {
            return .skipped(
                id.profile == CredentialID.defaultProfile
                    ? "holds keys of profiles other than the default only"
                    : "holds the default profile's key only")
        }
        guard let foreignKeyring else {
            return .skipped("no keyring is read here (the store in use is not the Secret Service)")
        }
        let found: [ForeignKeyringSecret]
        switch try foreignKeyring.items(matching: attributes) {
        case .unavailable(let reason): return .skipped(reason)
        case .items(let items): found = items
        }
        // Several matching items (a Secret Service may hold copies): the newest, the one last written.
        guard let newest = found.max(by: { $0.modified < $1.modified }) else {
            return .missing("no such item in the keyring" + note)
        }
        guard let secret = newest.secret else {
            throw KeywayError(.malformedFile, "The keyring item \(name) holds a secret that is not UTF-8 text.")
        }
        let value = secret.reveal()
        if value.isEmpty { return .empty("the item's secret is empty" + note) }
        if let violation = APIKeyRules.violation(value) {
            throw KeywayError(.malformedFile, "The keyring item \(name) holds a key that \(violation).")
        }
        let more = found.count > 1 ? " (the newest of \(found.count) matching items)" : ""
        return .key(ResolvedKey(id: id, secret: secret, source: .keyring(name)), "in the keyring" + more + note)
    }
}
