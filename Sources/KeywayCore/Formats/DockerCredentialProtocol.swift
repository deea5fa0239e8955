/// The protocol of docker's credential helpers (github.com/docker/docker-credential-helpers, `client` and
/// `credentials` packages): `docker-credential-NAME store|get|erase|list|version`, the payload on standard input.
///
/// - `store` reads `{"ServerURL": ..., "Username": ..., "Secret": ...}` (field names matched without regard to case,
///   as Go's encoding/json does); a missing or empty ServerURL is `no credentials server URL`, a missing or empty
///   Username `no credentials username`.
/// - `get` and `erase` read the server URL, surrounding whitespace removed; an empty one is `no credentials server
///   URL`. `get` prints the same JSON object as `store` reads.
/// - `list` prints `{"URL": "username", ...}`.
/// - An error is printed on STANDARD OUTPUT, one line, exit status 1; clients match these exact texts.
public enum DockerCredentialProtocol {
    public static let notFound = "credentials not found in native keychain"
    public static let missingServerURL = "no credentials server URL"
    public static let missingUsername = "no credentials username"
    /// The most input read for one request.
    public static let maximumInputBytes = 1 << 20

    public struct Credentials: Sendable, Equatable {
        public var serverURL: String
        public var username: String
        public var secret: Secret

        public init(serverURL: String, username: String, secret: Secret) {
            self.serverURL = serverURL
            self.username = username
            self.secret = secret
        }
    }

    /// A protocol error: `message` is the exact text the helper prints.
    public struct Failure: Error, Sendable, Equatable {
        public let message: String
        public init(_ message: String) { self.message = message }
    }

    /// `store`'s payload.
    public static func parseStore(_ bytes: [UInt8]) throws(Failure) -> Credentials {
        let json: JSON
        do throws(JSONSyntaxError) { json = try JSON.parse(bytes) } catch {
            // Where, not what: the text may hold the secret, so no character of it is shown.
            throw Failure("The credentials are not valid JSON (at line \(error.line), column \(error.column)).")
        }
        guard case .object(let fields) = json else { throw Failure("The credentials are not a JSON object.") }
        func field(_ name: String) throws(Failure) -> String? {
            // encoding/json: an exact match wins, else the last case-insensitive one.
            if let exact = fields.last(where: { $0.0 == name }) { return try string(exact.1, name) }
            if let loose = fields.last(where: { $0.0.lowercased() == name.lowercased() }) {
                return try string(loose.1, name)
            }
            return nil
        }
        func string(_ value: JSON, _ name: String) throws(Failure) -> String? {
            switch value {
            case .string(let text): return text
            case .null: return nil
            default: throw Failure("The credentials' \(name) is not a string.")
            }
        }
        let serverURL = try field("ServerURL") ?? ""
        let username = try field("Username") ?? ""
        let secret = try field("Secret") ?? ""
        if serverURL.trimmingSpaces.isEmpty { throw Failure(missingServerURL) }
        if username.trimmingSpaces.isEmpty { throw Failure(missingUsername) }
        return Credentials(serverURL: serverURL, username: username, secret: Secret(secret))
    }

    /// `get`'s and `erase`'s payload: the server URL.
    public static func parseServerURL(_ bytes: [UInt8]) throws(Failure) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw Failure("The server URL is not UTF-8 text.")
        }
        let url = text.trimmingSpaces
        if url.isEmpty { throw Failure(missingServerURL) }
        if url.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw Failure("The server URL contains a control character.")
        }
        return url
    }

    /// `get`'s answer.
    public static func serialize(_ credentials: Credentials) -> String {
        JSON.object([
            ("ServerURL", .string(credentials.serverURL)), ("Username", .string(credentials.username)),
            ("Secret", .string(credentials.secret.reveal())),
        ]).serialized(pretty: false) + "\n"
    }

    /// `list`'s answer.
    public static func serializeList(_ entries: [(serverURL: String, username: String)]) -> String {
        JSON.object(entries.map { ($0.serverURL, .string($0.username)) }).serialized(pretty: false) + "\n"
    }
}

extension String {
    /// Without leading and trailing whitespace (Go's strings.TrimSpace, for ASCII and the Unicode spaces).
    var trimmingSpaces: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
