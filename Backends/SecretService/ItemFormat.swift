import KeywayCore

/// How a credential is laid out as a Secret Service item (documented in README.md's keyring section):
///
/// - secret: the API key itself, as text (`text/plain`), so every client reads the bare key;
/// - `service` = app, `username` = profile: the attributes python `keyring` and Go's `go-keyring` use;
/// - `xdg:schema` = `io.keyway.Credential`: marks the items Keyway wrote (searches never filter on it, so items
///   written by other tools, with another schema or none, are found too);
/// - `keyway:account`, `keyway:organization`, `keyway:scopes` (a JSON array), `keyway:expires` (YYYY-MM-DD),
///   `keyway:created`, `keyway:updated` (RFC 3339): the metadata, present only when known. Attributes are NOT secret:
///   the Secret Service stores them unencrypted and shows them to any client;
/// - label: `Keyway: APP (PROFILE)`;
/// - a git credential (app `git-credential`) whose secret is the password alone, with no expiry or other field (no
///   scope), also carries git-credential-libsecret's attributes `protocol`, `server`, `port` (when the host has
///   one), `user` and `object` (the path, when there is one), and that helper's schema name
///   `org.gnome.keyring.NetworkPassword` instead of Keyway's (git 2.39's helper searches by schema name, newer
///   ones by the attributes alone), so that helper finds it too (`gitAttributes`). One with a refresh token, an
///   `authtype` credential or an expiry does not: libsecret's helper would read Keyway's encoded secret as the
///   password, or use the password past its expiry. Keyway tells its own such items from libsecret's by their
///   `service` attribute.
enum ItemFormat {
    static let service = "service"
    static let username = "username"
    static let schemaAttribute = "xdg:schema"
    static let schemaName = "io.keyway.Credential"
    /// The schema git-credential-libsecret (git 2.39) stores and searches its items with.
    static let networkPasswordSchema = "org.gnome.keyring.NetworkPassword"
    static let account = "keyway:account"
    static let organization = "keyway:organization"
    static let scopes = "keyway:scopes"
    static let expires = "keyway:expires"
    static let created = "keyway:created"
    static let updated = "keyway:updated"

    static func label(_ id: CredentialID) -> String { "Keyway: \(id.app) (\(id.profile))" }

    static func lookup(_ id: CredentialID) -> [String: String] {
        [service: id.app, username: id.profile]
    }

    static func attributes(_ credential: Credential) -> [String: String] {
        var attributes = lookup(credential.id)
        attributes[Self.schemaAttribute] = Self.schemaName
        if let value = credential.account { attributes[Self.account] = value }
        if let value = credential.organization { attributes[Self.organization] = value }
        if !credential.scopes.isEmpty {
            attributes[Self.scopes] = JSON.array(credential.scopes.map { .string($0) }).serialized(pretty: false)
        }
        if let value = credential.expires { attributes[Self.expires] = value.description }
        attributes[Self.created] = credential.created.description
        attributes[Self.updated] = credential.updated.description
        let git = gitAttributes(credential)
        if !git.isEmpty {
            attributes.merge(git) { keyway, _ in keyway }
            attributes[Self.schemaAttribute] = Self.networkPasswordSchema
        }
        return attributes
    }

    /// git-credential-libsecret's attributes for a git credential it can read as it is (see the type's notes); none
    /// for any other credential.
    static func gitAttributes(_ credential: Credential) -> [String: String] {
        guard credential.id.app == GitCredentialProfile.app, credential.scopes.isEmpty,
            let parts = GitCredentialProfile.parts(credential.id.profile), let user = parts.username
        else { return [:] }
        let (server, port) = GitCredentialProfile.splitHost(parts.host)
        var attributes = ["protocol": parts.protocolName, "server": server, "user": user]
        if let port { attributes["port"] = port }
        if let path = parts.path { attributes["object"] = path }
        return attributes
    }

    /// The credential id an item stands for, when it has both `service` and `username`.
    static func id(_ item: Item) -> CredentialID? {
        guard let app = item.attributes[service], let profile = item.attributes[username] else { return nil }
        return CredentialID(app: app, profile: profile)
    }

    /// Rebuilds a credential from an item and its secret. Metadata Keyway cannot understand is dropped with a
    /// warning; items written by other tools carry none, and take their times from the item's own.
    static func credential(
        _ item: Item, id: CredentialID, secret: [UInt8], warn: WarningHandler?
    ) throws(KeywayError) -> Credential {
        guard let text = String(validating: secret, as: UTF8.self) else {
            throw KeywayError(
                .keyringFailure,
                "The keyring item for \(id) (\(item.path)) holds a secret that is not UTF-8 text; Keyway only reads "
                    + "text API keys. Replace it with `keyway login \(id.app) --profile \(id.profile)`.")
        }
        if let violation = APIKeyRules.violation(text) {
            throw KeywayError(
                .keyringFailure,
                "The keyring item for \(id) (\(item.path)) holds a key that \(violation). Replace it with "
                    + "`keyway login \(id.app) --profile \(id.profile)`.")
        }
        let a = item.attributes
        func ignored(_ attribute: String, _ expected: String) {
            warn?(
                KeywayWarning(
                    .keyringMetadataIgnored,
                    "The keyring item for \(id) has an unreadable \(attribute) attribute (expected \(expected)); "
                        + "it was ignored."))
        }
        var scopeList: [String] = []
        if let text = a[scopes] {
            if case .array(let values)? = try? JSON.parse(text), values.allSatisfy({ $0.stringValue != nil }) {
                scopeList = values.compactMap(\.stringValue)
            } else {
                ignored(scopes, "a JSON array of strings")
            }
        }
        var expiry: Day?
        if let text = a[expires] {
            expiry = Day(parsing: text)
            if expiry == nil { ignored(expires, "a date YYYY-MM-DD") }
        }
        func time(_ attribute: String, fallback: Int64) -> Timestamp {
            if let text = a[attribute] {
                if let t = Timestamp(parsing: text) { return t }
                ignored(attribute, "an RFC 3339 time")
            }
            return Timestamp(secondsSinceEpoch: fallback)
        }
        let createdTime = time(created, fallback: item.created)
        return Credential(
            id: id, secret: Secret(text), account: a[account], organization: a[organization], scopes: scopeList,
            expires: expiry, created: createdTime, updated: time(updated, fallback: max(item.modified, item.created)))
    }

    /// Orders the items standing for one credential, best first: in the default collection, unlocked, most recently
    /// modified, then written by Keyway. Recency comes before the schema: another tool that sets the key again
    /// (python `keyring` adds an `application` attribute, so it does not find Keyway's item and adds a second one)
    /// holds the newer key.
    static func preferred(_ items: [Item], defaultCollection: String?) -> [Item] {
        func rank(_ item: Item) -> (Int, Int, Int64, Int) {
            (
                item.collectionPath == defaultCollection ? 0 : 1, item.isLocked ? 1 : 0, -item.modified,
                item.attributes[schemaAttribute] == schemaName || item.attributes[created] != nil ? 0 : 1
            )
        }
        return items.sorted { rank($0) < rank($1) }
    }

    /// The warning that several items stand for one credential, and which one was used.
    static func duplicates(_ items: [Item], id: CredentialID, used: Item) -> KeywayWarning {
        KeywayWarning(
            .keyringDuplicateItems,
            "\(items.count) keyring items hold a key for \(id) (\(items.map(\.path).joined(separator: ", "))); Keyway "
                + "used the most recently modified one (\(used.path)). Other tools may read another one. To leave a "
                + "single item, store the key again with `keyway login \(id.app) --profile \(id.profile)` (it replaces "
                + "every matching item of the default collection), or remove the stale ones with Seahorse or "
                + "`secret-tool clear service \(id.app) username \(id.profile)` (which removes them all).")
    }
}
