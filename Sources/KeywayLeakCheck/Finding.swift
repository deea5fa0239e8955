import KeywayCore

/// One thing leak-check reports.
public struct Finding: Sendable {
    public enum Kind: String, Sendable {
        case credentialsFile = "credentials-file"
        case permissions
        case secret
    }

    public enum Severity: String, Sendable, Comparable {
        case error, warning, info

        var rank: Int {
            switch self {
            case .error: return 0
            case .warning: return 1
            case .info: return 2
            }
        }
        public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }

        /// The SARIF level.
        public var sarifLevel: String {
            switch self {
            case .error: return "error"
            case .warning: return "warning"
            case .info: return "note"
            }
        }
    }

    /// What git does with the file (or did, for history); nil outside any repository.
    public enum GitStatus: String, Sendable {
        case tracked, staged, untracked, ignored, history
    }

    public let kind: Kind
    public let rule: String
    public let severity: Severity
    /// Absolute.
    public let path: String
    /// The repository root, or nil.
    public let repository: String?
    public let git: GitStatus?
    /// 1-based line of a key in content.
    public let line: Int?
    /// The commit a key or credentials file was found in (history).
    public let commit: String?
    /// The key, masked (secrets only).
    public let masked: String?
    public let message: String
    /// What to do about it.
    public let fix: String
    /// The key itself; shown only with --show-secrets, never written to SARIF or a baseline.
    public let secret: Secret?
    /// Stable fingerprint: SHA-256 over the rule, the path (relative to the repository) and the secret's digest.
    public let fingerprint: String

    public init(
        kind: Kind, rule: String, severity: Severity, path: String, repository: String?, git: GitStatus?,
        line: Int? = nil, commit: String? = nil, masked: String? = nil, message: String, fix: String,
        secret: Secret? = nil
    ) {
        self.kind = kind
        self.rule = rule
        self.severity = severity
        self.path = path
        self.repository = repository
        self.git = git
        self.line = line
        self.commit = commit
        self.masked = masked
        self.message = message
        self.fix = fix
        self.secret = secret
        self.fingerprint = Finding.fingerprint(
            rule: rule, relativePath: Finding.relative(path, to: repository), secret: secret)
    }

    /// The path relative to the repository root (the absolute path outside any repository).
    public var relativePath: String { Finding.relative(path, to: repository) }

    static func relative(_ path: String, to repository: String?) -> String {
        guard let repository else { return path }
        if repository == "/" { return String(path.dropFirst()) }
        return path.hasPrefix(repository + "/") ? String(path.dropFirst(repository.count + 1)) : path
    }

    /// `sha256("keyway-leak-check/1\0" rule "\0" path "\0" sha256(secret))` in hex. Line numbers are left out on
    /// purpose: they churn.
    public static func fingerprint(rule: String, relativePath: String, secret: Secret?) -> String {
        var input = Array("keyway-leak-check/1\0\(rule)\0\(relativePath)\0".utf8)
        if let secret { input += SHA256.hash(Array(secret.reveal().utf8)) }
        return SHA256.hex(input)
    }
}

/// Descriptions of the rules, for SARIF and the docs.
public struct RuleDescription: Sendable {
    public let id: String
    public let name: String
    public let summary: String
    public let help: String
    public let level: Finding.Severity
}

public enum FileRules {
    public static let tracked = "credentials-file-tracked"
    public static let staged = "credentials-file-staged"
    public static let untracked = "credentials-file-untracked"
    public static let ignored = "credentials-file-ignored"
    public static let history = "credentials-file-in-history"
    public static let permissions = "file-permissions"
    public static let owner = "file-owner"
    public static let directoryPermissions = "directory-permissions"
    public static let directoryOwner = "directory-owner"

    public static let descriptions: [RuleDescription] = [
        RuleDescription(
            id: tracked, name: "CredentialsFileTracked", summary: "A credentials file is tracked by git.",
            help: "Stop tracking it (git rm --cached), add it to .gitignore, and rotate every key it held if it was "
                + "ever pushed.", level: .error),
        RuleDescription(
            id: staged, name: "CredentialsFileStaged", summary: "A credentials file is staged for the next commit.",
            help: "Unstage it (git restore --staged), add it to .gitignore.", level: .error),
        RuleDescription(
            id: untracked, name: "CredentialsFileUntracked",
            summary: "A credentials file sits in a repository that would pick it up (it is not ignored).",
            help: "Add it to .gitignore.", level: .warning),
        RuleDescription(
            id: ignored, name: "CredentialsFileIgnored",
            summary: "A credentials file sits in a repository that ignores it.",
            help: "Nothing to do; listed for the audit.", level: .info),
        RuleDescription(
            id: history, name: "CredentialsFileInHistory",
            summary: "A credentials file was committed in the history of a repository.",
            help: "Rotate every key it held; rewriting history (git filter-repo) does not un-leak a pushed key.",
            level: .error),
        RuleDescription(
            id: permissions, name: "FilePermissions",
            summary: "A credentials or key file is readable or writable by group or others.",
            help: "chmod 600 the file.", level: .warning),
        RuleDescription(
            id: owner, name: "FileOwner", summary: "A credentials or key file is owned by another user.",
            help: "Check who created it; chown it to yourself or remove it.", level: .warning),
        RuleDescription(
            id: directoryPermissions, name: "DirectoryPermissions",
            summary: "A directory leading to Keyway's files is writable by group or others.",
            help: "chmod go-w the directory.", level: .warning),
        RuleDescription(
            id: directoryOwner, name: "DirectoryOwner",
            summary: "A directory leading to Keyway's files is owned by another user (not you or root).",
            help: "Keep Keyway's files in a directory of your own, or have the directory given to you.",
            level: .warning),
    ]

    /// Description of a content rule.
    public static func description(of rule: SecretRule) -> RuleDescription {
        RuleDescription(
            id: rule.id,
            name: rule.id.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(),
            summary: rule.id == ContentScanner.storedRule.id
                ? "A key that Keyway stores appears in a file." : "\(rule.name) in a file.",
            help: "Remove the key from the file and rotate it (consider it leaked if it was ever committed or "
                + "pushed): \(rule.remediation) Read it at run time instead (keyway run "
                + "\(rule.app.map(ProtectedFile.shellQuoted) ?? "APP") -- CMD).",
            level: rule.severity)
    }
}
