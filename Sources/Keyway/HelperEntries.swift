/// How a credential helper's secret (git's password and tokens, docker's secret) is kept in a Keyway credential.
///
/// A password that obeys `APIKeyRules` and comes alone is the credential's secret as it is, so `keyway get` prints
/// it. Anything else (a refresh token or an `authtype` credential beside it, an empty password, one with a tab or
/// another control character, which git allows) is kept as the base64 of `key=value` lines, and the credential's
/// scopes then hold `encodedScope`, so the two forms are never confused. Scopes are not secret: they name the form
/// and the expiry, never a value.
enum HelperSecret {
    static let encodedScope = "encoding=base64-lines"

    /// The secret and scopes for `fields` (a lone `plainKey` field that obeys the key rules is kept as it is); nil when they are too long together.
    static func encode(_ fields: [(String, String)], plainKey: String) -> (secret: Secret, scopes: [String])? {
        if fields.count == 1, fields[0].0 == plainKey, APIKeyRules.violation(fields[0].1) == nil {
            return (Secret(fields[0].1), [])
        }
        var lines: [UInt8] = []
        for (key, value) in fields { lines += Array(key.utf8) + [UInt8(ascii: "=")] + Array(value.utf8) + [0x0A] }
        let encoded = Base64.encode(lines)
        lines.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        guard encoded.utf8.count <= APIKeyRules.maximumBytes else { return nil }
        return (Secret(encoded), [encodedScope])
    }

    /// The fields a credential's secret holds (`plainKey` names a plain secret); nil when an encoded one is damaged.
    static func decode(_ credential: Credential, plainKey: String) -> [String: String]? {
        guard credential.scopes.contains(encodedScope) else { return [plainKey: credential.secret.reveal()] }
        guard var bytes = Base64.decode(credential.secret.reveal()) else { return nil }
        defer { bytes.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
        var fields: [String: String] = [:]
        for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: true) {
            guard let equals = line.firstIndex(of: UInt8(ascii: "=")),
                let key = String(validating: line[..<equals], as: UTF8.self),
                let value = String(validating: line[(equals + 1)...], as: UTF8.self)
            else { return nil }
            fields[key] = value
        }
        return fields
    }

    /// The value of a `name=value` scope.
    static func scope(_ name: String, in credential: Credential) -> String? {
        let prefix = name + "="
        return credential.scopes.first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }
}

/// A user name in a helper's notes: shown when it cannot be a key (`APIKeyRules.shownName`), since a username can
/// be a token.
func shownHelperName(_ value: String?) -> String {
    value.map(APIKeyRules.shownName) ?? "(no username)"
}
