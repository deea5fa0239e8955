/// git's credential helper protocol (`gitcredentials(7)`, `git-credential(1)`): what git sends a helper on standard
/// input and what a helper answers to `get`.
///
/// A message is `key=value` lines up to a blank line or the end of input. Read here: `protocol`, `host` (with any
/// `:port`), `path`, `username`, `password`, `password_expiry_utc`, `oauth_refresh_token`, `url` (which, as in git,
/// sets protocol, host, path, username and password at once), `wwwauth[]`, and git 2.46's `capability[]`,
/// `authtype`, `credential`, `ephemeral`, `state[]`, `continue`. An attribute git may add later is ignored, as the
/// protocol requires. Refused (the whole message, with an error naming the line, never its value): a line over
/// `maximumLineBytes`, a NUL or a carriage return inside a line (a line's one trailing CR is removed, as git does), a
/// line without `=`, text that is not UTF-8, more than `maximumLines` lines.
public struct GitCredentialMessage: Sendable, Equatable {
    public var protocolName: String?
    /// The host, with `:port` when git gives one.
    public var host: String?
    public var path: String?
    public var username: String?
    public var password: Secret?
    /// Seconds since the epoch (UTC) after which the password is no longer valid.
    public var passwordExpiryUTC: Int64?
    public var oauthRefreshToken: Secret?
    /// `WWW-Authenticate` values the server sent (only read; a helper may choose by them).
    public var wwwauth: [String] = []
    /// The capabilities the sender announces (`authtype`, `state`).
    public var capabilities: [String] = []
    /// With the `authtype` capability: the scheme (`Bearer`, `Basic`...) and the pre-encoded `credential`.
    public var authtype: String?
    public var credential: Secret?
    /// The credential is for this request only and must not be stored.
    public var ephemeral = false
    public var state: [String] = []
    public var continueFlag = false

    public init() {}

    public var announcesAuthtype: Bool { capabilities.contains("authtype") }
}

public enum GitCredentialProtocol {
    /// The longest line read, in bytes (without its newline): 65,535, git's own limit for a credential line.
    public static let maximumLineBytes = 65_535
    /// The most lines read from one message (git sends a dozen at most).
    public static let maximumLines = 1_000
    /// The most input read from standard input for one message.
    public static let maximumInputBytes = 1 << 20

    /// Reads one message (up to its blank line or the end of `bytes`; anything after the blank line is ignored).
    public static func parse(_ bytes: [UInt8]) throws(KeywayError) -> GitCredentialMessage {
        var message = GitCredentialMessage()
        var start = 0
        var lineNumber = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            lineNumber += 1
            var line = bytes[start..<end]
            start = end + 1
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            if line.isEmpty { break }
            if lineNumber > maximumLines {
                throw refused("it has more than \(maximumLines) lines")
            }
            if line.count > maximumLineBytes {
                throw refused("line \(lineNumber) is longer than \(maximumLineBytes) bytes")
            }
            if line.contains(0) { throw refused("line \(lineNumber) contains a NUL byte") }
            if line.contains(UInt8(ascii: "\r")) { throw refused("line \(lineNumber) contains a carriage return") }
            guard let equals = line.firstIndex(of: UInt8(ascii: "=")) else {
                throw refused("line \(lineNumber) has no '=' (each line must be key=value)")
            }
            guard let key = String(validating: line[..<equals], as: UTF8.self),
                let value = String(validating: line[(equals + 1)...], as: UTF8.self)
            else { throw refused("line \(lineNumber) is not UTF-8 text") }
            try apply(key, value, to: &message, line: lineNumber)
        }
        return message
    }

    static func refused(_ why: String) -> KeywayError {
        KeywayError(.invalidInput, "The credential request from git was refused: \(why); nothing was read or stored.")
    }

    static func apply(_ key: String, _ value: String, to message: inout GitCredentialMessage, line: Int)
        throws(KeywayError)
    {
        switch key {
        case "protocol": message.protocolName = value
        case "host": message.host = value
        case "path": message.path = value
        case "username": message.username = value
        case "password": message.password = Secret(value)
        case "password_expiry_utc":
            // As git: a value that is not a positive number means no expiry.
            if let seconds = Int64(value), seconds > 0 {
                message.passwordExpiryUTC = seconds
            } else {
                message.passwordExpiryUTC = nil
            }
        case "oauth_refresh_token": message.oauthRefreshToken = Secret(value)
        case "url":
            guard let url = GitCredentialURL(value) else {
                throw refused("line \(line) has a url that is not protocol://[user@]host[/path]")
            }
            // As git's credential_from_url: the url replaces these five.
            message.protocolName = url.protocolName
            message.host = url.host
            message.path = url.path
            message.username = url.username
            message.password = url.password.map(Secret.init)
        case "wwwauth[]":
            if value.isEmpty { message.wwwauth = [] } else { message.wwwauth.append(value) }
        case "capability[]":
            if value.isEmpty { message.capabilities = [] } else { message.capabilities.append(value) }
        case "authtype": message.authtype = value
        case "credential": message.credential = Secret(value)
        case "ephemeral": message.ephemeral = isTrue(value)
        case "state[]":
            if value.isEmpty { message.state = [] } else { message.state.append(value) }
        case "continue": message.continueFlag = isTrue(value)
        default: break  // an attribute of a later git: ignored, as the protocol requires
        }
    }

    static func isTrue(_ value: String) -> Bool {
        ["true", "yes", "on", "1"].contains(value.lowercased())
    }

    /// The answer to `get`: the attributes the helper knows, one `key=value` line each. A value holding a newline,
    /// carriage return or NUL (which no message read here can hold) is left out rather than written as two lines.
    public static func serialize(_ message: GitCredentialMessage) -> [UInt8] {
        var lines: [(String, String)] = []
        if message.announcesAuthtype { lines.append(("capability[]", "authtype")) }
        if let value = message.protocolName { lines.append(("protocol", value)) }
        if let value = message.host { lines.append(("host", value)) }
        if let value = message.path { lines.append(("path", value)) }
        if let value = message.username { lines.append(("username", value)) }
        if let value = message.password { lines.append(("password", value.reveal())) }
        if let value = message.passwordExpiryUTC { lines.append(("password_expiry_utc", String(value))) }
        if let value = message.oauthRefreshToken { lines.append(("oauth_refresh_token", value.reveal())) }
        if let value = message.authtype { lines.append(("authtype", value)) }
        if let value = message.credential { lines.append(("credential", value.reveal())) }
        if message.ephemeral { lines.append(("ephemeral", "true")) }
        for value in message.state { lines.append(("state[]", value)) }
        var bytes: [UInt8] = []
        for (key, value) in lines where !value.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D || $0 == 0 }) {
            bytes += Array(key.utf8) + [UInt8(ascii: "=")] + Array(value.utf8) + [0x0A]
        }
        return bytes
    }
}

/// A `url=` value as git's `credential_from_url` splits it: `protocol://[user[:password]@]host[:port][/path]`, the
/// user, password and path percent-decoded, trailing slashes of the path dropped.
struct GitCredentialURL {
    var protocolName: String
    var host: String
    var path: String?
    var username: String?
    var password: String?

    init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), colon > 0,
            bytes[colon...].starts(with: Array("://".utf8))
        else { return nil }
        protocolName = String(decoding: bytes[..<colon], as: UTF8.self)
        let rest = bytes[(colon + 3)...]
        let slash = rest.firstIndex(of: UInt8(ascii: "/")) ?? rest.endIndex
        var authority = rest[..<slash]
        if let at = authority.lastIndex(of: UInt8(ascii: "@")) {
            let user = authority[..<at]
            if let separator = user.firstIndex(of: UInt8(ascii: ":")) {
                guard let name = Self.decoded(user[..<separator]), let secret = Self.decoded(user[(separator + 1)...])
                else { return nil }
                username = name
                password = secret
            } else {
                guard let name = Self.decoded(user) else { return nil }
                username = name
            }
            authority = authority[(at + 1)...]
        }
        guard let hostText = Self.decoded(authority) else { return nil }
        host = hostText
        if slash < rest.endIndex {
            var pathBytes = rest[(slash + 1)...]
            while pathBytes.last == UInt8(ascii: "/") { pathBytes = pathBytes.dropLast() }
            guard let decodedPath = Self.decoded(pathBytes) else { return nil }
            path = decodedPath.isEmpty ? nil : decodedPath
        }
    }

    /// Percent-decoded UTF-8, or nil when an escape is malformed or the result holds a NUL, newline or carriage
    /// return (which no attribute line may hold).
    static func decoded(_ bytes: ArraySlice<UInt8>) -> String? {
        guard let raw = PercentEncoding.decode(bytes), !raw.contains(where: { $0 == 0 || $0 == 0x0A || $0 == 0x0D })
        else { return nil }
        return String(validating: raw, as: UTF8.self)
    }
}

/// Percent-encoding of names built from credential attributes (Keyway's profile names for git and docker entries).
package enum PercentEncoding {
    /// `text` with every byte outside ASCII letters, digits, `-._~` and `kept` written as `%XX`.
    package static func encode(_ text: String, keeping kept: String = "") -> String {
        let keptBytes = Set(kept.utf8)
        var out: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.append(byte)
            case _ where keptBytes.contains(byte): out.append(byte)
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes `%XX` escapes stand for; nil when one is malformed.
    package static func decode(_ bytes: some Collection<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var iterator = bytes.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                out.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                return nil
            }
            out.append(high << 4 | low)
        }
        return out
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
