import KeywayCore

extension KeywayError.Code {
    /// The server cannot be connected to (refused, no route, no such host).
    public static let openbaoUnreachable = Self(rawValue: "openbao-unreachable")
    /// The server did not answer within `KEYWAY_OPENBAO_TIMEOUT`.
    public static let openbaoTimeout = Self(rawValue: "openbao-timeout")
    /// TLS: the server's certificate did not verify (unknown CA, wrong name), or a CA or client certificate file
    /// cannot be used.
    public static let openbaoTLS = Self(rawValue: "openbao-tls")
    /// The server is sealed.
    public static let openbaoSealed = Self(rawValue: "openbao-sealed")
    /// The node answering is a standby and no active node could be found (an election in progress, a lost quorum).
    public static let openbaoNoActiveNode = Self(rawValue: "openbao-no-active-node")
    /// The token is valid but its policies do not allow the operation.
    public static let openbaoPermissionDenied = Self(rawValue: "openbao-permission-denied")
    /// No token is configured (no `BAO_TOKEN`, `VAULT_TOKEN`, `~/.vault-token` or AppRole files).
    public static let openbaoNoToken = Self(rawValue: "openbao-no-token")
    /// The server refused the token (expired, revoked, unknown) or the AppRole login.
    public static let openbaoTokenInvalid = Self(rawValue: "openbao-token-invalid")
    /// The mount does not exist, or is not a KV version 2 secrets engine.
    public static let openbaoMount = Self(rawValue: "openbao-mount")
    /// The namespace (`BAO_NAMESPACE` / `VAULT_NAMESPACE`) does not exist on the server.
    public static let openbaoNamespace = Self(rawValue: "openbao-namespace")
    /// A check-and-set write lost against other writers more times than Keyway retries.
    public static let openbaoConflict = Self(rawValue: "openbao-conflict")
    /// Any other failure the server reported, or an answer Keyway cannot read.
    public static let openbaoServer = Self(rawValue: "openbao-server")
}
