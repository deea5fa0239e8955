/// Identifies a credential: the app it belongs to and a profile within that app.
public struct CredentialID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let defaultProfile = "default"

    public let app: String
    public let profile: String

    public init(app: String, profile: String = CredentialID.defaultProfile) {
        self.app = app
        self.profile = profile
    }

    /// Names are the same when their Unicode scalars are (not by canonical equivalence, Swift's `String ==`): a
    /// profile `café` written in NFC is not one written in NFD, as in the JSON and YAML files they come from.
    public static func == (lhs: CredentialID, rhs: CredentialID) -> Bool {
        lhs.app.utf8.elementsEqual(rhs.app.utf8) && lhs.profile.utf8.elementsEqual(rhs.profile.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(ExactString(app))
        hasher.combine(ExactString(profile))
    }

    /// Checks that app and profile are usable names: not empty, no control characters, at most 256 characters.
    public func validate() throws(KeywayError) {
        if let problem { throw KeywayError(.invalidInput, "The \(problem).") }
    }

    /// What makes app or profile unusable ("app name is empty", "profile name contains a control character"), as
    /// words without a final period for use inside another sentence, or nil when both are usable.
    public var problem: String? {
        for (what, value) in [("app name", app), ("profile name", profile)] {
            // Fast path: printable ASCII, which most names are.
            if !value.isEmpty, value.utf8.count <= 256, value.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { continue }
            if value.isEmpty { return "\(what) is empty" }
            if value.count > 256 { return "\(what) is longer than 256 characters" }
            if value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                return "\(what) contains a control character"
            }
        }
        return nil
    }

    public static func < (lhs: CredentialID, rhs: CredentialID) -> Bool {
        (lhs.app, lhs.profile) < (rhs.app, rhs.profile)
    }

    /// For messages: each name shown only when it cannot be a key (`APIKeyRules.shownName`).
    public var description: String { "\(APIKeyRules.shownName(app)) (profile \(APIKeyRules.shownName(profile)))" }

    /// `keyway VERB APP [--profile P]` for a message, with names that may be keys not shown.
    public func command(_ verb: String) -> String {
        let app = APIKeyRules.shownName(app)
        return profile == CredentialID.defaultProfile
            ? "keyway \(verb) \(app)" : "keyway \(verb) \(app) --profile \(APIKeyRules.shownName(profile))"
    }
}

/// A stored API key and what is known about it.
public struct Credential: Sendable, Equatable, CustomStringConvertible {
    public var id: CredentialID
    public var secret: Secret
    public var account: String?
    public var organization: String?
    public var scopes: [String]
    public var expires: Day?
    public var created: Timestamp
    public var updated: Timestamp

    public init(
        id: CredentialID, secret: Secret, account: String? = nil, organization: String? = nil, scopes: [String] = [],
        expires: Day? = nil, created: Timestamp = .now(), updated: Timestamp? = nil
    ) {
        self.id = id
        self.secret = secret
        self.account = account
        self.organization = organization
        self.scopes = scopes
        self.expires = expires
        self.created = created
        self.updated = updated ?? created
    }

    /// Whole days left until the expiry day (0 on the day itself, negative once past); nil without an expiry date.
    public func daysRemaining(today: Day = .today()) -> Int? {
        expires.map { $0.days(since: today) }
    }

    /// Expired once the expiry day has passed: a key expiring on 2026-11-21 is still valid that day.
    public func isExpired(today: Day = .today()) -> Bool {
        (daysRemaining(today: today) ?? 0) < 0
    }

    /// Checks what every store checks before writing: usable names (`CredentialID.validate`) and a key that obeys
    /// `APIKeyRules` (a store never holds a key it would refuse to read back).
    public func validate() throws(KeywayError) {
        try id.validate()
        try validateAPIKey(secret)
    }

    public var description: String {
        var parts = ["\(id)", "key \(secret.masked)"]
        if let account { parts.append("account \(account)") }
        if let organization { parts.append("organization \(organization)") }
        if !scopes.isEmpty { parts.append("scopes \(scopes.joined(separator: ","))") }
        if let expires { parts.append("expires \(expires)") }
        return "Credential(" + parts.joined(separator: ", ") + ")"
    }
}

/// Checks an API key before it is stored, by `APIKeyRules`: not empty, not only whitespace, no control characters (a
/// newline would break `get`), at most 64 KiB.
public func validateAPIKey(_ secret: Secret) throws(KeywayError) {
    if let violation = APIKeyRules.violation(secret.reveal()) {
        throw KeywayError(.invalidInput, "The API key \(violation); nothing was stored.")
    }
}
