import KeywayCore

/// Where the OpenBao (or HashiCorp Vault) backend finds its server and what it may do there, read the way the `bao`
/// and `vault` CLIs read it (`BAO_*` first, else `VAULT_*`), plus Keyway's own `KEYWAY_OPENBAO_*` settings.
public struct OpenBaoConfiguration: Sendable {
    /// The variables that hold (or name the files that hold) this backend's credentials: whoever has them reads
    /// every key under the prefix. `keyway run` never passes them on to the program it starts.
    public static let credentialVariables = [
        "BAO_TOKEN", "VAULT_TOKEN", "KEYWAY_OPENBAO_ROLE_ID_FILE", "KEYWAY_OPENBAO_SECRET_ID_FILE",
    ]

    /// `BAO_ADDR`, else `VAULT_ADDR`, without a trailing slash; nil when neither is set.
    public let address: String?
    /// Which variable the address came from (for messages).
    let addressVariable: String?
    /// `BAO_NAMESPACE`, else `VAULT_NAMESPACE`: sent as `X-Vault-Namespace`.
    public let namespace: String?
    let tls: TLSSettings
    /// The variable that asked to skip TLS verification (`BAO_SKIP_VERIFY` / `VAULT_SKIP_VERIFY`), when one did.
    let skipVerifyVariable: String?
    /// `KEYWAY_OPENBAO_MOUNT`, default `secret`: the KV version 2 mount.
    public let mount: String
    /// `KEYWAY_OPENBAO_PREFIX`, default `keyway`: the folder inside the mount that holds Keyway's entries.
    public let prefix: String
    /// `KEYWAY_OPENBAO_TIMEOUT`, default 5 seconds: the most one operation (retries included) may take.
    public let timeout: Double
    let token: TokenSource?
    /// A setting that cannot be used (an invalid mount, prefix or timeout): every operation fails with it.
    let problem: KeywayError?

    public static let defaultTimeout = 5.0

    /// Where the token comes from, in this order: AppRole files (when configured), `BAO_TOKEN`, `VAULT_TOKEN`,
    /// `~/.vault-token`.
    enum TokenSource: Sendable, Equatable {
        case variable(name: String, value: String)
        case file(String)
        case appRole(roleIDFile: String, secretIDFile: String, mount: String)

        /// Names the source for messages; never the token.
        var description: String {
            switch self {
            case .variable(let name, _): return name
            case .file(let path): return path
            case .appRole(let role, let secret, _): return "the AppRole login (role id \(role), secret id \(secret))"
            }
        }
    }

    public init(environment: Environment) {
        func either(_ suffix: String) -> (name: String, value: String)? {
            for name in ["BAO_" + suffix, "VAULT_" + suffix] {
                if let value = environment.nonEmpty(name) { return (name, value) }
            }
            return nil
        }
        var problem: KeywayError?
        if let (name, value) = either("ADDR") {
            var trimmed = Substring(value)
            while trimmed.hasSuffix("/") { trimmed.removeLast() }
            address = String(trimmed)
            addressVariable = name
            if !(value.hasPrefix("http://") || value.hasPrefix("https://")) {
                problem = KeywayError(.invalidInput, "\(name) must start with http:// or https://.")
            }
        } else {
            address = nil
            addressVariable = nil
        }
        namespace = either("NAMESPACE")?.value
        if let (name, value) = either("NAMESPACE"), Self.hasControlCharacter(value) {
            problem = problem ?? KeywayError(.invalidInput, "\(name) contains a control character.")
        }
        let skip = either("SKIP_VERIFY").flatMap { setting in
            ["", "0", "false", "no", "off"].contains(setting.value.lowercased()) ? nil : setting.name
        }
        skipVerifyVariable = skip
        tls = TLSSettings(
            caFile: either("CACERT")?.value, caPath: either("CAPATH")?.value, clientCert: either("CLIENT_CERT")?.value,
            clientKey: either("CLIENT_KEY")?.value, serverName: either("TLS_SERVER_NAME")?.value,
            skipVerify: skip != nil)
        let mount = environment.nonEmpty("KEYWAY_OPENBAO_MOUNT") ?? "secret"
        let prefix = environment.nonEmpty("KEYWAY_OPENBAO_PREFIX") ?? "keyway"
        self.mount = Self.trimmedSlashes(mount)
        self.prefix = Self.trimmedSlashes(prefix)
        for (name, value) in [("KEYWAY_OPENBAO_MOUNT", self.mount), ("KEYWAY_OPENBAO_PREFIX", self.prefix)]
        where problem == nil && !KVPath.isPlainPath(value) {
            problem = KeywayError(
                .invalidInput,
                "\(name) must be one or more path segments of letters, digits, '.', '_' and '-' separated by '/' "
                    + "(no empty, '.' or '..' segment).")
        }
        var timeout = Self.defaultTimeout
        if let text = environment.nonEmpty("KEYWAY_OPENBAO_TIMEOUT") {
            if let value = Double(text), value > 0, value <= 3600 {
                timeout = value
            } else if problem == nil {
                problem = KeywayError(
                    .invalidInput,
                    "KEYWAY_OPENBAO_TIMEOUT must be a number of seconds greater than 0 and at most 3600 (such as 5 or "
                        + "0.5).")
            }
        }
        self.timeout = timeout
        let roleFile = environment.nonEmpty("KEYWAY_OPENBAO_ROLE_ID_FILE")
        let secretFile = environment.nonEmpty("KEYWAY_OPENBAO_SECRET_ID_FILE")
        if let roleFile, let secretFile {
            let mount = Self.trimmedSlashes(environment.nonEmpty("KEYWAY_OPENBAO_APPROLE_MOUNT") ?? "approle")
            token = .appRole(roleIDFile: roleFile, secretIDFile: secretFile, mount: mount)
            if problem == nil && !KVPath.isPlainPath(mount) {
                problem = KeywayError(.invalidInput, "KEYWAY_OPENBAO_APPROLE_MOUNT must be a plain path.")
            }
        } else if roleFile != nil || secretFile != nil {
            token = nil
            problem =
                problem
                ?? KeywayError(
                    .invalidInput,
                    "AppRole login needs both KEYWAY_OPENBAO_ROLE_ID_FILE and KEYWAY_OPENBAO_SECRET_ID_FILE; only "
                        + (roleFile != nil ? "the role id file" : "the secret id file") + " is set.")
        } else if let (name, value) = either("TOKEN") {
            token = .variable(name: name, value: value)
        } else if let home = environment.home {
            token = .file(home + "/.vault-token")
        } else {
            token = nil
        }
        self.problem = problem
    }

    /// Whether Keyway is configured to use this backend: `KEYWAY_BACKEND=openbao` or a `KEYWAY_OPENBAO_*` setting.
    /// `VAULT_ADDR` or `BAO_ADDR` alone is not enough (they are the `vault` and `bao` CLIs' own settings).
    public static func isConfigured(_ environment: Environment) -> Bool {
        if environment.nonEmpty("KEYWAY_BACKEND")?.lowercased() == "openbao" { return true }
        return environment.values.contains { $0.key.hasPrefix("KEYWAY_OPENBAO_") && !$0.value.isEmpty }
    }

    /// The warning every run gives while TLS verification is off.
    var skipVerifyWarning: KeywayWarning? {
        skipVerifyVariable.map { name in
            KeywayWarning(
                .tlsVerificationSkipped,
                "\(name) is set: the OpenBao server's TLS certificate is NOT verified, so anyone on the network path "
                    + "can read and change what Keyway sends and receives (the token and your keys). Unset it and "
                    + "give the server's CA with BAO_CACERT instead.")
        }
    }

    /// A value sent in a header must hold no control character (a line break would add a header of its own).
    static func hasControlCharacter(_ text: String) -> Bool {
        text.utf8.contains { $0 < 0x20 || $0 == 0x7F }
    }

    private static func trimmedSlashes(_ text: String) -> String {
        var s = Substring(text)
        while s.hasPrefix("/") { s.removeFirst() }
        while s.hasSuffix("/") { s.removeLast() }
        return String(s)
    }
}

extension KeywayWarning.Code {
    /// `BAO_SKIP_VERIFY` / `VAULT_SKIP_VERIFY` turned TLS verification off.
    public static let tlsVerificationSkipped = Self(rawValue: "tls-verification-skipped")
    /// An entry's details (account, organization, scopes, expiry) were written with another version of its key
    /// than the one stored now: they are left out.
    public static let openbaoDetailsOfAnotherVersion = Self(rawValue: "openbao-details-of-another-version")
}
