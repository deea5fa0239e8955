import Glibc
import KeywayCore
import Synchronization

/// A time limit shared by every request (and retry) of one operation.
struct Deadline: Sendable {
    let seconds: Double
    private let end: Double

    init(seconds: Double) {
        self.seconds = seconds
        end = Self.now() + seconds
    }

    var remaining: Double { end - Self.now() }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// One answer from the server: its status and its JSON (nil for an empty body), with the `errors` it listed.
struct Answer: Sendable {
    let status: Int
    let json: JSON?
    let errors: [String]

    var ok: Bool { status >= 200 && status < 300 }
    /// A 404 that says no more than "nothing there" (no namespace or route problem).
    var isPlainNotFound: Bool {
        status == 404 && !errors.contains { $0.contains("no handler for route") || $0.contains("namespace not found") }
    }
}

/// The server's HTTP API as Keyway uses it: requests with the token and namespace, bounded by a deadline, retried
/// while a standby has no active node to forward to; every failure turned into a `KeywayError` that names what went
/// wrong and never carries the token, a secret id or a key.
final class KVClient: Sendable {
    let configuration: OpenBaoConfiguration
    let warn: WarningHandler?
    private let http = HTTPClient()
    /// The token once known (an AppRole login is done once per process).
    private let token = Mutex<String?>(nil)
    /// The secret id once read, so that it is redacted from anything the server says.
    private let secretID = Mutex<String?>(nil)
    private let mountChecked = Mutex(false)
    private let warned = Mutex(false)

    init(configuration: OpenBaoConfiguration, warn: WarningHandler?) {
        self.configuration = configuration
        self.warn = warn
    }

    var address: String { configuration.address ?? "(no address)" }

    /// The server, for messages.
    var serverName: String { "the OpenBao server at \(address)" }
    /// The same at the start of a sentence.
    var serverAtStart: String { "The OpenBao server at \(address)" }

    // MARK: - Requests

    /// Sends `method` to `/v1/<path>` (path already encoded) with the token (unless `authenticated` is false) and the
    /// namespace. Retries while the answer says a standby cannot reach an active node, until the deadline.
    func send(
        _ method: String, _ path: String, body: JSON? = nil, deadline: Deadline, authenticated: Bool = true,
        redact: [String] = []
    ) throws(KeywayError) -> Answer {
        if let problem = configuration.problem { throw problem }
        guard let address = configuration.address else {
            throw KeywayError(
                .backendUnavailable,
                "No OpenBao server is configured: set BAO_ADDR (or VAULT_ADDR) to its address, such as "
                    + "https://openbao.example:8200.")
        }
        if let warning = configuration.skipVerifyWarning,
            warned.withLock({ was in
                defer { was = true }
                return !was
            })
        {
            warn?(warning)
        }
        var headers = ["X-Vault-Request: true"]
        var secrets = redact
        if authenticated {
            let token = try currentToken(deadline: deadline)
            headers.append("X-Vault-Token: " + token)
            secrets.append(token)
        }
        if let namespace = configuration.namespace { headers.append("X-Vault-Namespace: " + namespace) }
        if let id = secretID.withLock({ $0 }) { secrets.append(id) }
        var bytes: [UInt8]?
        if let body {
            headers.append("Content-Type: application/json")
            bytes = Array(body.serialized(pretty: false).utf8)
        }
        var url = address + "/v1/" + path
        var connectTo: String?
        if let name = configuration.tls.serverName, let target = Self.hostAndPort(address) {
            // Verify (and send as SNI) `name`, while connecting to the address's host and port.
            url = target.scheme + "://" + name + ":" + target.port + target.rest + "/v1/" + path
            connectTo = name + ":" + target.port + ":" + target.host + ":" + target.port
        }
        var lastTransient: Answer?
        var lastRedirectFailure: String?
        while true {
            let remaining = deadline.remaining
            guard remaining > 0 else {
                if let lastTransient { throw failure(lastTransient, doing: "answer", deadline: nil, redact: secrets) }
                if let lastRedirectFailure { throw noActiveNode(lastRedirectFailure) }
                throw timedOut(deadline)
            }
            let request = HTTPRequest(
                method: method, url: url, headers: headers, body: bytes, timeout: remaining, tls: configuration.tls,
                connectTo: connectTo)
            switch http.perform(request) {
            case .failure(let kind, let message, let redirected):
                let said = Self.redacted(message, secrets)
                if redirected && kind == .unreachable {
                    // A standby sent us to an active node that is gone (killed, an election under way): ask the
                    // standby again until it knows the new one, or the time is up.
                    lastRedirectFailure = said
                    pause(deadline)
                    continue
                }
                switch kind {
                case .noLibrary:
                    throw KeywayError(
                        .backendUnavailable,
                        "The OpenBao backend needs libcurl (libcurl.so.4), which cannot be loaded: \(said). Install "
                            + "it (Debian: apt-get install libcurl4).")
                case .unreachable:
                    throw KeywayError(
                        .openbaoUnreachable,
                        "Cannot connect to \(serverName) (from \(configuration.addressVariable ?? "BAO_ADDR")): "
                            + "\(said). Is the server running, and is the address right?")
                case .timeout:
                    if let lastTransient {
                        throw failure(lastTransient, doing: "answer", deadline: nil, redact: secrets)
                    }
                    if let lastRedirectFailure { throw noActiveNode(lastRedirectFailure) }
                    throw timedOut(deadline)
                case .tls:
                    throw KeywayError(
                        .openbaoTLS,
                        "TLS verification of \(serverName) failed: \(said). Keyway always verifies the server's "
                            + "certificate: give the CA that signed it with BAO_CACERT (or BAO_CAPATH), and the name "
                            + "on it with BAO_TLS_SERVER_NAME when it is not the address's host.")
                case .other:
                    throw KeywayError(.openbaoServer, "The exchange with \(serverName) failed: \(said).")
                }
            case .response(let status, let body):
                let answer = Self.answer(status, body)
                if Self.isTransient(answer) {
                    lastTransient = answer
                    pause(deadline)
                    continue
                }
                return answer
            }
        }
    }

    /// A short wait before asking again, within the deadline.
    private func pause(_ deadline: Deadline) {
        let pause = min(0.2, max(0, deadline.remaining - 0.01))
        if pause > 0 { usleep(UInt32(pause * 1e6)) }
    }

    private func noActiveNode(_ said: String) -> KeywayError {
        KeywayError(
            .openbaoNoActiveNode,
            "\(serverAtStart) is a standby node whose active node could not be reached within the time allowed "
                + "(KEYWAY_OPENBAO_TIMEOUT): \(said). The cluster may be electing a leader or have lost its quorum.")
    }

    private func timedOut(_ deadline: Deadline) -> KeywayError {
        KeywayError(
            .openbaoTimeout,
            "\(serverAtStart) did not answer within \(Self.seconds(deadline.seconds)) (KEYWAY_OPENBAO_TIMEOUT). Is it "
                + "overloaded, or is something else listening at that address?")
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
    }

    static func answer(_ status: Int, _ body: [UInt8]) -> Answer {
        guard !body.isEmpty, let json = try? JSON.parse(body) else {
            return Answer(status: status, json: nil, errors: [])
        }
        var errors: [String] = []
        if case .array(let items)? = json["errors"] { errors = items.compactMap(\.stringValue) }
        return Answer(status: status, json: json, errors: errors)
    }

    /// A standby that cannot reach an active node (an election in progress): worth retrying until the deadline.
    static func isTransient(_ answer: Answer) -> Bool {
        // A KV v2 mount just mounted, or on a node that just became active, upgrades its storage first.
        if answer.errors.contains(where: { $0.contains("Waiting for the primary to upgrade") }) { return true }
        guard answer.status >= 500 else { return false }
        return answer.errors.contains { error in
            let text = error.lowercased()
            return text.contains("active cluster node not found") || text.contains("node not active")
                || text.contains("error forwarding") || text.contains("no active node")
                || text.contains("leadership") || text.contains("standby")
        }
    }

    private static func hostAndPort(_ address: String) -> (scheme: String, host: String, port: String, rest: String)? {
        guard let schemeEnd = address.firstRange(of: "://") else { return nil }
        let scheme = String(address[..<schemeEnd.lowerBound])
        let afterScheme = address[schemeEnd.upperBound...]
        let authority = afterScheme.prefix { $0 != "/" }
        let rest = String(afterScheme.dropFirst(authority.count))
        var host = String(authority)
        var port = scheme == "https" ? "443" : "80"
        if let colon = authority.lastIndex(of: ":"), !authority[colon...].contains("]") {
            host = String(authority[..<colon])
            port = String(authority[authority.index(after: colon)...])
        }
        return (scheme, host, port, rest)
    }

    /// `text` with every secret in `secrets` replaced, and cut to a reasonable length.
    static func redacted(_ text: String, _ secrets: [String]) -> String {
        var out = text
        for secret in secrets where !secret.isEmpty { out = out.replacing(secret, with: "<redacted>") }
        out = String(out.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : Character($0) })
        while out.contains("  ") { out = out.replacing("  ", with: " ") }
        out = out.trimmingWhitespace()
        return out.count > 300 ? String(out.prefix(300)) + "..." : out
    }

    // MARK: - Failures

    /// The error for an answer that is not a success (nor a plain "not found" the caller handles): sealed, standby,
    /// permission denied or token refused (told apart by looking the token up), namespace, mount, or the server's
    /// own words.
    func failure(_ answer: Answer, doing what: String, deadline: Deadline?, redact: [String] = []) -> KeywayError {
        var secrets = redact
        if let token = token.withLock({ $0 }) { secrets.append(token) }
        if let id = secretID.withLock({ $0 }) { secrets.append(id) }
        let said = Self.redacted(answer.errors.joined(separator: "; "), secrets)
        let lowered = said.lowercased()
        if answer.status == 503 && lowered.contains("sealed") {
            return KeywayError(
                .openbaoSealed,
                "\(serverAtStart) is sealed: it cannot \(what) until an operator unseals it (bao operator unseal).")
        }
        if Self.isTransient(answer) {
            return KeywayError(
                .openbaoNoActiveNode,
                "\(serverAtStart) is a standby node and no active node answered within the time allowed "
                    + "(KEYWAY_OPENBAO_TIMEOUT): \(said). The cluster may be electing a leader or have lost its "
                    + "quorum.")
        }
        if answer.status == 404 && lowered.contains("namespace not found") {
            return KeywayError(
                .openbaoNamespace,
                "The namespace \(configuration.namespace.map { "'\($0)'" } ?? "") given with "
                    + "BAO_NAMESPACE/VAULT_NAMESPACE does not exist on \(serverName).")
        }
        if answer.status == 404 && lowered.contains("no handler for route") {
            return mountMissing()
        }
        if answer.status == 403 {
            if let deadline, tokenIsRefused(deadline: deadline) {
                return tokenRefused()
            }
            return KeywayError(
                .openbaoPermissionDenied,
                "Permission denied: the token (from \(tokenSourceName)) may not \(what) under "
                    + "\(configuration.mount)/\(configuration.prefix) on \(serverName); its policies need the "
                    + "matching capabilities on \(configuration.mount)/data/\(configuration.prefix)/* and "
                    + "\(configuration.mount)/metadata/\(configuration.prefix)/*.")
        }
        return KeywayError(
            .openbaoServer,
            "\(serverAtStart) refused to \(what) (HTTP \(answer.status))\(said.isEmpty ? "" : ": " + said).")
    }

    private func mountMissing() -> KeywayError {
        KeywayError(
            .openbaoMount,
            "\(serverAtStart) has no secrets engine mounted at '\(configuration.mount)' (KEYWAY_OPENBAO_MOUNT)"
                + (configuration.namespace.map { " in namespace '\($0)'" } ?? "")
                + ", or the token may use no path under it. Enable one with: bao secrets enable -path="
                + "\(configuration.mount) kv-v2")
    }

    private func tokenRefused() -> KeywayError {
        if case .appRole? = configuration.token {
            return KeywayError(
                .openbaoTokenInvalid,
                "\(serverAtStart) refused the token its AppRole login gave (it has expired or been revoked).")
        }
        return KeywayError(
            .openbaoTokenInvalid,
            "\(serverAtStart) refused the token from \(tokenSourceName): it has expired, been revoked, or was not issued "
                + "by this server. Log in again (bao login) or set a valid BAO_TOKEN.")
    }

    var tokenSourceName: String { configuration.token?.description ?? "nowhere" }

    /// Whether the server refuses the token itself (lookup-self, which every valid token may call, is refused too).
    private func tokenIsRefused(deadline: Deadline) -> Bool {
        guard let answer = try? send("GET", "auth/token/lookup-self", deadline: deadline) else { return false }
        return answer.status == 403
    }

    // MARK: - The token

    func currentToken(deadline: Deadline) throws(KeywayError) -> String {
        if let known = token.withLock({ $0 }) { return known }
        let value: String
        switch configuration.token {
        case nil:
            throw noToken()
        case .variable(_, let text)?:
            value = text
        case .file(let path)?:
            guard let text = try readPrivate(path, what: "token file") else { throw noToken() }
            guard !text.isEmpty else {
                throw KeywayError(.openbaoNoToken, "The token file \(path) is empty. Log in again (bao login).")
            }
            value = text
        case .appRole(let roleFile, let secretFile, let mount)?:
            value = try appRoleLogin(roleFile: roleFile, secretFile: secretFile, mount: mount, deadline: deadline)
        }
        guard !OpenBaoConfiguration.hasControlCharacter(value) else {
            throw KeywayError(
                .openbaoTokenInvalid,
                "The token from \(tokenSourceName) contains a control character (a line break?); Keyway does not send "
                    + "it.")
        }
        token.withLock { $0 = value }
        return value
    }

    private func noToken() -> KeywayError {
        KeywayError(
            .openbaoNoToken,
            "No OpenBao token: set BAO_TOKEN (or VAULT_TOKEN), log in with bao login (which writes ~/.vault-token), "
                + "or configure an AppRole login with KEYWAY_OPENBAO_ROLE_ID_FILE and KEYWAY_OPENBAO_SECRET_ID_FILE.")
    }

    /// A file holding a token, role id or secret id: refused unless it is a regular file owned by the user that group
    /// and others cannot access; nil when it does not exist; its contents without surrounding whitespace.
    private func readPrivate(_ path: String, what: String) throws(KeywayError) -> String? {
        let bytes: [UInt8]?
        do throws(KeywayError) {
            bytes = try ProtectedFile(path: path, strict: true, sizeLimit: ProtectedFile.keyFileSizeLimit).read()
        } catch {
            guard error.code == .insecurePermissions else { throw error }
            throw KeywayError(
                .insecurePermissions,
                "The \(what) \(path) can be accessed by group or others; Keyway refuses a \(what) anyone else can "
                    + "read. Fix with: chmod 600 \(ProtectedFile.shellQuoted(path))", path: path)
        }
        guard let bytes else { return nil }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw KeywayError(.malformedFile, "The \(what) \(path) is not UTF-8 text.", path: path)
        }
        return text.trimmingWhitespace()
    }

    private func appRoleLogin(roleFile: String, secretFile: String, mount: String, deadline: Deadline)
        throws(KeywayError) -> String
    {
        guard let role = try readPrivate(roleFile, what: "role id file"), !role.isEmpty else {
            throw KeywayError(
                .openbaoNoToken, "The role id file \(roleFile) (KEYWAY_OPENBAO_ROLE_ID_FILE) is missing or empty.")
        }
        guard let secret = try readPrivate(secretFile, what: "secret id file"), !secret.isEmpty else {
            throw KeywayError(
                .openbaoNoToken, "The secret id file \(secretFile) (KEYWAY_OPENBAO_SECRET_ID_FILE) is missing or empty."
            )
        }
        secretID.withLock { $0 = secret }
        let body = JSON.object([("role_id", .string(role)), ("secret_id", .string(secret))])
        let answer = try send(
            "POST", "auth/\(mount)/login", body: body, deadline: deadline, authenticated: false, redact: [secret])
        if answer.ok, let value = answer.json?["auth"]?["client_token"]?.stringValue, !value.isEmpty {
            return value
        }
        if answer.status == 400 || answer.status == 403 {
            let said = Self.redacted(answer.errors.joined(separator: "; "), [secret, role])
            if !said.lowercased().contains("sealed") && !Self.isTransient(answer) {
                return try refuseAppRole(said, roleFile: roleFile, secretFile: secretFile)
            }
        }
        throw failure(answer, doing: "log in with AppRole", deadline: nil, redact: [secret])
    }

    private func refuseAppRole(_ said: String, roleFile: String, secretFile: String) throws(KeywayError) -> String {
        throw KeywayError(
            .openbaoTokenInvalid,
            "\(serverAtStart) refused the AppRole login with the role id from \(roleFile) and the secret id from "
                + "\(secretFile)\(said.isEmpty ? "" : ": " + said).")
    }

    // MARK: - The mount

    /// Checks, once per client, that the mount is a KV version 2 secrets engine.
    func checkMount(deadline: Deadline) throws(KeywayError) {
        if mountChecked.withLock({ $0 }) { return }
        let answer = try send("GET", "sys/internal/ui/mounts/" + configuration.mount, deadline: deadline)
        if answer.ok {
            let data = answer.json?["data"]
            let type = data?["type"]?.stringValue ?? "unknown"
            let version = data?["options"]?["version"]?.stringValue
            guard type == "kv" || type == "generic" else {
                throw KeywayError(
                    .openbaoMount,
                    "The mount '\(configuration.mount)' on \(serverName) is a '\(type)' secrets engine, not KV "
                        + "version 2 (KEYWAY_OPENBAO_MOUNT names the KV version 2 mount Keyway stores in).")
            }
            guard version == "2" else {
                throw KeywayError(
                    .openbaoMount,
                    "The mount '\(configuration.mount)' on \(serverName) is a KV version 1 secrets engine; Keyway "
                        + "needs KV version 2 (versions and check-and-set writes). Upgrade it with: bao kv "
                        + "enable-versioning \(configuration.mount)")
            }
            mountChecked.withLock { $0 = true }
            return
        }
        if answer.errors.contains(where: { $0.contains("preflight capability check") }) {
            if tokenIsRefused(deadline: deadline) { throw tokenRefused() }
            throw mountMissing()
        }
        throw failure(answer, doing: "describe its mounts", deadline: deadline)
    }
}
