/// The JSON document that holds every credential of a file-based store (the plaintext file, and the payload of the
/// encrypted vault). Its format is specified in SECURITY.md:
///
///     {
///       "format": "keyway-credentials",
///       "version": 1,
///       "credentials": [
///         { "app": "reflex", "profile": "default", "api_key": "rfx_...", "account": "me@example.com",
///           "organization": "Acme", "scopes": ["read"], "expires": "2027-01-31",
///           "created": "2026-11-21T22:30:04Z", "updated": "2026-11-21T22:30:04Z" }
///       ]
///     }
///
/// Credentials are kept sorted by app, then profile.
public struct CredentialDocument: Sendable, Equatable {
    public static let formatName = "keyway-credentials"
    public static let currentVersion = 1

    /// Every entry, including those in `unusable` (kept, so rewriting the file never loses one).
    public private(set) var credentials: [Credential]

    /// Entries whose key breaks `APIKeyRules` (hand-written, or stored by an older Keyway), with the error that reading
    /// or listing them gives. The other entries stay usable, and removing the entry (`keyway logout`) clears it.
    public private(set) var unusable: [CredentialID: KeywayError] = [:]

    private init(sorted: [Credential]) { credentials = sorted }

    public init(credentials: [Credential] = []) {
        self.credentials = credentials.sorted { $0.id < $1.id }
    }

    /// The entry for `id`, usable or not.
    public func credential(_ id: CredentialID) -> Credential? {
        credentials.first { $0.id == id }
    }

    /// The entry for `id`; an error when its key breaks `APIKeyRules`.
    public func usableCredential(_ id: CredentialID) throws(KeywayError) -> Credential? {
        if let error = unusable[id] { throw error }
        return credential(id)
    }

    /// Every entry (or those of `app`); an error when one of them has a key that breaks `APIKeyRules`.
    public func usableCredentials(app: String? = nil) throws(KeywayError) -> [Credential] {
        let selected = app.map { app in credentials.filter { $0.id.app.utf8.elementsEqual(app.utf8) } } ?? credentials
        if !unusable.isEmpty, let bad = selected.first(where: { unusable[$0.id] != nil }), let error = unusable[bad.id]
        {
            throw error
        }
        return selected
    }

    /// Inserts or replaces; keeps the original `created` time when replacing.
    public mutating func upsert(_ credential: Credential) {
        unusable[credential.id] = nil
        if let index = credentials.firstIndex(where: { $0.id == credential.id }) {
            credentials[index] = credential
        } else {
            let index = credentials.firstIndex(where: { credential.id < $0.id }) ?? credentials.endIndex
            credentials.insert(credential, at: index)
        }
    }

    @discardableResult
    public mutating func remove(_ id: CredentialID) -> Bool {
        guard let index = credentials.firstIndex(where: { $0.id == id }) else { return false }
        credentials.remove(at: index)
        unusable[id] = nil
        return true
    }

    @discardableResult
    public mutating func removeAll(app: String) -> [CredentialID] {
        let removed = credentials.filter { $0.id.app.utf8.elementsEqual(app.utf8) }.map(\.id)
        credentials.removeAll { $0.id.app.utf8.elementsEqual(app.utf8) }
        for id in removed { unusable[id] = nil }
        return removed
    }

    // MARK: Encoding

    package func json() -> JSON {
        .object([
            ("format", .string(Self.formatName)),
            ("version", .int(Self.currentVersion)),
            ("credentials", .array(credentials.map(Self.encode))),
        ])
    }

    public func serialized() -> [UInt8] { Array(json().serialized().utf8) }

    static func encode(_ c: Credential) -> JSON {
        var members: [(String, JSON)] = [
            ("app", .string(c.id.app)),
            ("profile", .string(c.id.profile)),
            ("api_key", .string(c.secret.reveal())),
        ]
        if let account = c.account { members.append(("account", .string(account))) }
        if let organization = c.organization { members.append(("organization", .string(organization))) }
        if !c.scopes.isEmpty { members.append(("scopes", .array(c.scopes.map { .string($0) }))) }
        if let expires = c.expires { members.append(("expires", .string(expires.description))) }
        members.append(("created", .string(c.created.description)))
        members.append(("updated", .string(c.updated.description)))
        return .object(members)
    }

    // MARK: Decoding

    /// The fields of an entry, in the order `DocumentScanner` numbers them.
    static let entryFields = [
        "app", "profile", "api_key", "account", "organization", "expires", "created", "updated", "scopes",
    ]

    /// Decodes a document. `source` names the file in error messages. A key that breaks `APIKeyRules` does not make
    /// the document an error: its entry is kept and recorded in `unusable`.
    public init(parsing bytes: [UInt8], source: String) throws(KeywayError) {
        let root: JSON
        do throws(JSONSyntaxError) {
            root = try JSON.parse(bytes)
        } catch {
            throw KeywayError(
                .malformedFile, "\(source) is not valid JSON: \(error). It was left untouched; fix or move it.",
                path: source)
        }
        func bad(_ field: String, _ problem: String) -> KeywayError {
            KeywayError(
                .malformedFile, "\(source): \(field) \(problem). The file was left untouched; fix or move it.",
                path: source)
        }
        guard case .object(let topMembers) = root else {
            throw bad("the top level", "must be an object, found \(root.typeName)")
        }
        // A field written twice is refused, not read last-one-wins (the next write would drop the other).
        var topNames = MemberNames()
        for (name, _) in topMembers where !topNames.insert(name) {
            throw bad(Self.fieldName(name, in: nil), "appears more than once")
        }
        if let format = root["format"], format != .string(Self.formatName) {
            throw bad("\"format\"", "must be \"\(Self.formatName)\"")
        }
        guard let versionValue = root["version"] else { throw bad("\"version\"", "is missing") }
        guard let version = versionValue.intValue else { throw bad("\"version\"", "must be a whole number") }
        if version > Self.currentVersion {
            throw KeywayError(
                .unsupportedVersion,
                "\(source) has format version \(version), written by a newer Keyway; this one reads version "
                    + "\(Self.currentVersion). It was left untouched.", path: source)
        }
        guard version == Self.currentVersion else { throw bad("\"version\"", "must be \(Self.currentVersion)") }
        guard let list = root["credentials"] else { throw bad("\"credentials\"", "is missing") }
        guard case .array(let entries) = list else {
            throw bad("\"credentials\"", "must be an array, found \(list.typeName)")
        }
        var credentials: [Credential] = []
        var unusable: [CredentialID: KeywayError] = [:]
        var seen = Set<CredentialID>()
        credentials.reserveCapacity(entries.count)
        seen.reserveCapacity(entries.count)
        for (i, entry) in entries.enumerated() {
            // One pass over the entry's members; field paths are built only for error messages.
            guard case .object(let members) = entry else {
                throw bad("credentials[\(i)]", "must be an object, found \(entry.typeName)")
            }
            var app: String?, profile: String?, key: String?, account: String?, organization: String?
            var expiresText: String?, createdText: String?, updatedText: String?
            var scopes: [String] = []
            var seenFields: UInt16 = 0
            var otherNames = MemberNames()
            for (name, value) in members {
                if let field = Self.entryFields.firstIndex(of: name) {
                    guard seenFields & (1 << field) == 0 else {
                        throw bad("credentials[\(i)].\(name)", "appears more than once")
                    }
                    seenFields |= 1 << field
                } else {
                    guard otherNames.insert(name) else {
                        throw bad(Self.fieldName(name, in: "credentials[\(i)]"), "appears more than once")
                    }
                    continue  // fields of a later minor version are ignored
                }
                if case .null = value { continue }
                if name == "scopes" {
                    guard case .array(let items) = value else {
                        throw bad("credentials[\(i)].scopes", "must be an array of strings, found \(value.typeName)")
                    }
                    scopes.removeAll()
                    for item in items {
                        guard case .string(let scope) = item else {
                            throw bad("credentials[\(i)].scopes", "must be an array of strings")
                        }
                        scopes.append(scope)
                    }
                    continue
                }
                func text() throws(KeywayError) -> String {
                    guard case .string(let text) = value else {
                        throw bad("credentials[\(i)].\(name)", "must be a string, found \(value.typeName)")
                    }
                    return text
                }
                switch name {
                case "app": app = try text()
                case "profile": profile = try text()
                case "api_key": key = try text()
                case "account": account = try text()
                case "organization": organization = try text()
                case "expires": expiresText = try text()
                case "created": createdText = try text()
                default: updatedText = try text()
                }
            }
            guard let app else { throw bad("credentials[\(i)].app", "is missing") }
            guard let profile else { throw bad("credentials[\(i)].profile", "is missing") }
            let id = CredentialID(app: app, profile: profile)
            if let problem = id.problem { throw bad("credentials[\(i)]", "has an unusable name: the \(problem)") }
            guard seen.insert(id).inserted else { throw bad("credentials[\(i)]", "repeats \(id)") }
            guard let key else { throw bad("credentials[\(i)].api_key", "is missing") }
            if let violation = APIKeyRules.violation(key) {
                unusable[id] = Self.unusableKey(id, index: i, violation, source: source)
            }
            var expires: Day?
            if let expiresText {
                guard let day = Day(parsing: expiresText) else {
                    throw bad("credentials[\(i)].expires", "must be a date YYYY-MM-DD")
                }
                expires = day
            }
            var created = Timestamp(secondsSinceEpoch: 0)
            if let createdText {
                guard let t = Timestamp(parsing: createdText) else {
                    throw bad("credentials[\(i)].created", "must be an RFC 3339 time such as 2026-11-21T22:30:04Z")
                }
                created = t
            }
            var updated = created
            if let updatedText {
                guard let t = Timestamp(parsing: updatedText) else {
                    throw bad("credentials[\(i)].updated", "must be an RFC 3339 time such as 2026-11-21T22:30:04Z")
                }
                updated = t
            }
            credentials.append(
                Credential(
                    id: id, secret: Secret(key), account: account, organization: organization, scopes: scopes,
                    expires: expires, created: created, updated: updated))
        }
        // Written sorted; sort only when a hand-edited file is not.
        if zip(credentials, credentials.dropFirst()).allSatisfy({ $0.id < $1.id }) {
            self.init(sorted: credentials)
        } else {
            self.init(credentials: credentials)
        }
        self.unusable = unusable
    }

    /// An unknown field's name for a message: quoted when it cannot be a key (`APIKeyRules.isQuotable`), else a
    /// placeholder (a key pasted as a field name is not echoed).
    static func fieldName(_ name: String, in parent: String?) -> String {
        guard APIKeyRules.isQuotable(name) else {
            return (parent.map { "\($0): " } ?? "") + "a field whose name is not shown (it may be a key)"
        }
        return parent.map { "\($0)[\(JSON.quoted(name))]" } ?? JSON.quoted(name)
    }

    /// The error for entry `index` (`id`) whose key breaks `APIKeyRules`.
    static func unusableKey(_ id: CredentialID, index: Int, _ violation: APIKeyRules.Violation, source: String)
        -> KeywayError
    {
        let logout = id.command("logout")
        return KeywayError(
            .malformedFile,
            "\(source): credentials[\(index)].api_key (\(id)) holds a key that \(violation). The file was left "
                + "untouched; remove the entry with `\(logout)` (the other credentials stay usable) or fix the file.",
            path: source)
    }
}
