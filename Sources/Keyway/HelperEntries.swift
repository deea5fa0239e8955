/// How a credential helper's secret (git's password and tokens, docker's secret) is kept in a Keyway credential.
///
/// A password that obeys `APIKeyRules` and comes alone is the credential's secret as it is, so `keyway get` prints
/// it. One that comes alone with a line feed (docker's secret can be a multi-line JSON key file) is kept as the
/// base64 of its bytes, scope `valueScope`. Anything else (a refresh token or an `authtype` credential beside the
/// password, an empty password, one with a tab or another control character, which git allows) is kept as the
/// base64 of `key=value` lines, scope `encodedScope`; a value there holds no line feed (git's protocol has none). The scopes name the form, so the forms are
/// never confused. Scopes are not secret: they name the form and the expiry, never a value.
enum HelperSecret {
    static let encodedScope = "encoding=base64-lines"
    static let valueScope = "encoding=base64"

    /// The secret and scopes for `fields` (a lone `plainKey` field that obeys the key rules is kept as it is).
    static func encode(_ fields: [(String, String)], plainKey: String) throws(KeywayError) -> (
        secret: Secret, scopes: [String]
    ) {
        let tooLong = KeywayError(
            .invalidInput,
            "The secret (with any token beside it) is longer than 64 KiB once encoded; nothing was stored.")
        if fields.count == 1, fields[0].0 == plainKey {
            if APIKeyRules.violation(fields[0].1) == nil { return (Secret(fields[0].1), []) }
        }
        if fields.count == 1, fields[0].0 == plainKey, fields[0].1.utf8.contains(0x0A) {
            let encoded = Base64.encode(Array(fields[0].1.utf8))
            guard encoded.utf8.count <= APIKeyRules.maximumBytes else { throw tooLong }
            return (Secret(encoded), [valueScope])
        }
        var lines: [UInt8] = []
        defer { lines.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
        for (key, value) in fields {
            guard !key.utf8.contains(UInt8(ascii: "=")), !key.utf8.contains(0x0A), !value.utf8.contains(0x0A) else {
                throw KeywayError(.invalidInput, "A value holds a line feed, which cannot be kept; nothing was stored.")
            }
            lines += Array(key.utf8) + [UInt8(ascii: "=")] + Array(value.utf8) + [0x0A]
        }
        let encoded = Base64.encode(lines)
        guard encoded.utf8.count <= APIKeyRules.maximumBytes else { throw tooLong }
        return (Secret(encoded), [encodedScope])
    }

    /// The fields a credential's secret holds (`plainKey` names a lone secret); nil when an encoded one is damaged.
    static func decode(_ credential: Credential, plainKey: String) -> [String: String]? {
        if credential.scopes.contains(valueScope) {
            guard var bytes = Base64.decode(credential.secret.reveal()) else { return nil }
            defer { bytes.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
            return String(validating: bytes, as: UTF8.self).map { [plainKey: $0] }
        }
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
