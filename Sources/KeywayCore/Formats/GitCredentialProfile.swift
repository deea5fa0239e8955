/// The names of the credentials git's credential helper keeps (app `git-credential`): the profile is the URL
/// `PROTOCOL://[USERNAME@]HOST[:PORT][/PATH]`, each part percent-encoded, so it is unambiguous and holds no control
/// character. Shared by the helper (Sources/Keyway) and by the keyring backend, which lays such a credential out so
/// that git-credential-libsecret finds it too.
package enum GitCredentialProfile {
    package static let app = "git-credential"

    /// The profile for an entry.
    package static func make(protocolName: String, host: String, path: String?, username: String?) -> String {
        var text = PercentEncoding.encode(protocolName, keeping: "+") + "://"
        if let username { text += PercentEncoding.encode(username) + "@" }
        text += PercentEncoding.encode(host, keeping: ":[]")
        if let path, !path.isEmpty { text += "/" + PercentEncoding.encode(path, keeping: "/") }
        return text
    }

    /// The parts of a profile written by `make`; nil for any other name.
    package static func parts(_ profile: String) -> (
        protocolName: String, host: String, path: String?, username: String?
    )? {
        let bytes = Array(profile.utf8)
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), bytes[colon...].starts(with: Array("://".utf8))
        else { return nil }
        func decoded(_ slice: ArraySlice<UInt8>) -> String? {
            PercentEncoding.decode(slice).flatMap { String(validating: $0, as: UTF8.self) }
        }
        guard let protocolName = decoded(bytes[..<colon]), !protocolName.isEmpty else { return nil }
        let rest = bytes[(colon + 3)...]
        let slash = rest.firstIndex(of: UInt8(ascii: "/")) ?? rest.endIndex
        var authority = rest[..<slash]
        var username: String?
        if let at = authority.firstIndex(of: UInt8(ascii: "@")) {
            guard let name = decoded(authority[..<at]) else { return nil }
            username = name
            authority = authority[(at + 1)...]
        }
        guard let host = decoded(authority) else { return nil }
        var path: String?
        if slash < rest.endIndex {
            guard let text = decoded(rest[(slash + 1)...]) else { return nil }
            path = text.isEmpty ? nil : text
        }
        return (protocolName, host, path, username)
    }

    /// git's host (`name[:port]`) as git-credential-libsecret splits it into its `server` and `port` attributes.
    package static func splitHost(_ host: String) -> (server: String, port: String?) {
        guard let colon = host.lastIndex(of: ":"), !host.hasSuffix("]"),
            host[host.index(after: colon)...].allSatisfy(\.isASCII), UInt16(host[host.index(after: colon)...]) != nil
        else { return (host, nil) }
        return (String(host[..<colon]), String(host[host.index(after: colon)...]))
    }
}
