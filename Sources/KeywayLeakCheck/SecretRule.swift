import KeywayCore

/// A content rule: a key format recognised by a literal prefix followed by a body of known characters, a literal in
/// the middle of the key, a keyword naming the value assigned to it, or a block (private keys). Matching is done on
/// bytes by hand (no regular expressions): one case-insensitive keyword pass over all rules (`Prefilter`) finds the
/// places where a rule can match, and only there is the rule's own matcher run.
public struct SecretRule: Sendable, Equatable {
    public enum Shape: Sendable, Equatable {
        /// Prefix, then `minimum...maximum` body bytes from `alphabet`, then a byte that cannot continue a token.
        case token(alphabet: Alphabet, minimum: Int, maximum: Int)
        /// `-----BEGIN [...] PRIVATE KEY-----` followed by base64 key material (also inside a JSON string, lines
        /// separated by `\n` escapes).
        case privateKeyBlock
        /// A keyword ending an identifier (`AWS_SECRET_ACCESS_KEY`, `db_password`), an assignment (`=`, `:`, `=>`,
        /// `:=`), then a value of `minimum...maximum` bytes from `alphabet`, quoted or not.
        case assignment(alphabet: Alphabet, minimum: Int, maximum: Int)
        /// The prefix is a literal inside the key: `beforeMinimum...beforeMaximum` bytes from `before` in front of
        /// it, `afterMinimum...afterMaximum` from `after` behind it.
        case infix(
            before: Alphabet, beforeMinimum: Int, beforeMaximum: Int, after: Alphabet, afterMinimum: Int,
            afterMaximum: Int)
        /// `scheme://user:password@host` for the schemes databases, queues and HTTP use.
        case credentialURL
        /// `Authorization: Basic <base64 of user:password>`, `curl -u user:password`.
        case basicAuth
        /// An Azure SAS URL's `sig=` (with `sv=` on the same line).
        case sasSignature
        /// base64 of a PEM private key (`LS0tLS1CRUdJTi...`): decoded and checked as a private key block.
        case encodedPrivateKey
        /// A PuTTY `.ppk` key (`PuTTY-User-Key-File-2:`/`-3:`, its `Private-Lines`).
        case puttyKey
        /// A signed JSON Web Token: three base64url parts, a header naming its `alg`.
        case jwt

        /// The longest body a `.token` rule takes (nil for other shapes).
        var maximumLength: Int? {
            if case .token(_, _, let maximum) = self { return maximum }
            return nil
        }
    }

    public enum Alphabet: Sendable, Equatable {
        /// A-Z a-z 0-9
        case alphanumeric
        /// A-Z 0-9
        case upperAlphanumeric
        /// a-z 0-9
        case lowerAlphanumeric
        /// A-Z a-z 0-9 _ -
        case urlSafe
        /// A-Z a-z 0-9 _ - .
        case urlSafeDot
        /// A-Z a-z 0-9 _ - =
        case urlSafeEquals
        /// A-Z a-z 0-9 -
        case alphanumericDash
        /// A-Z a-z 0-9 _
        case alphanumericUnderscore
        /// A-Z a-z 0-9 .
        case alphanumericDot
        /// A-Z 0-9 .
        case upperAlphanumericDot
        /// 0-9 a-f
        case hexLower
        /// 0-9 a-f A-F
        case hex
        /// 0-9 a-f -
        case hexDash
        /// 0-9
        case digits
        /// A-Z a-z 0-9 + / =
        case base64
        /// A-Z a-z 0-9 + / = _
        case base64Underscore
        /// A-Z a-z 0-9 _ - /
        case urlPath
        /// A-Z a-z 0-9 _ - / @ (a Teams webhook's path)
        case teamsPath
        /// A-Z a-z 0-9 _ - ~ .
        case azureSecret
        /// 0-9 A-Z a-z _ - :
        case telegram
        /// Printable ASCII but space and quotes (a password).
        case password

        func contains(_ b: UInt8) -> Bool {
            let upper = b >= 65 && b <= 90, lower = b >= 97 && b <= 122, digit = b >= 48 && b <= 57
            switch self {
            case .alphanumeric: return upper || lower || digit
            case .upperAlphanumeric: return upper || digit
            case .lowerAlphanumeric: return lower || digit
            case .urlSafe: return upper || lower || digit || b == 95 || b == 45
            case .urlSafeDot: return upper || lower || digit || b == 95 || b == 45 || b == 46
            case .urlSafeEquals: return upper || lower || digit || b == 95 || b == 45 || b == 61
            case .alphanumericDash: return upper || lower || digit || b == 45
            case .alphanumericUnderscore: return upper || lower || digit || b == 95
            case .alphanumericDot: return upper || lower || digit || b == 46
            case .upperAlphanumericDot: return upper || digit || b == 46
            case .hexLower: return digit || (b >= 97 && b <= 102)
            case .hex: return digit || (b >= 97 && b <= 102) || (b >= 65 && b <= 70)
            case .hexDash: return digit || (b >= 97 && b <= 102) || b == 45
            case .digits: return digit
            case .base64: return upper || lower || digit || b == 43 || b == 47 || b == 61
            case .base64Underscore: return upper || lower || digit || b == 43 || b == 47 || b == 61 || b == 95
            case .urlPath: return upper || lower || digit || b == 95 || b == 45 || b == 47
            case .teamsPath: return upper || lower || digit || b == 95 || b == 45 || b == 47 || b == 64
            case .azureSecret: return upper || lower || digit || b == 95 || b == 45 || b == 126 || b == 46
            case .telegram: return upper || lower || digit || b == 95 || b == 45 || b == 58
            case .password: return b > 32 && b < 127 && b != 34 && b != 39 && b != 96
            }
        }

        /// Whether a trailing `.` is punctuation after the key rather than part of it.
        var hasDot: Bool { self == .urlSafeDot || self == .alphanumericDot || self == .upperAlphanumericDot }
    }

    /// A check of the whole match beyond prefix, alphabet and length.
    public enum Check: Sendable, Equatable {
        case none
        /// GitHub's and npm's tail: the last 6 body characters are the base62 CRC32 of the 30 before them.
        case crc32Base62
        /// The body holds this literal (OpenAI's `T3BlbkFJ`).
        case contains(String)
        /// Body byte `at` is `separator` (`SG.<22>.<43>`).
        case separator(UInt8, at: Int)
        /// The byte before an infix literal is a digit (Entra ID's `<3 chars><digit>Q~`).
        case digitBeforeInfix
        /// `<8-10 digits>:<35 of A-Za-z0-9_->`.
        case telegramBot
        /// Three dot-separated base64url parts of 23-28, 6-7 and 27-40 characters.
        case discordBot
        /// A UUID (8-4-4-4-12 hex).
        case uuid
        /// base64 of `user:password`, the password passing the password gate.
        case base64UserPassword
        /// A `.netrc` line: `machine HOST login USER password VALUE` (whitespace, no `=`).
        case netrcLine
        /// A value that looks like a secret rather than code, a reference or a placeholder
        /// (`Randomness.looksLikeSecretValue`).
        case secretValue
    }

    /// Stable identifier (SARIF rule id, baseline key).
    public let id: String
    /// For people: "GitHub token".
    public let name: String
    /// Literal prefixes (or, for `.infix`, the literal inside the key).
    public let prefixes: [String]
    public let shape: Shape
    /// The app spec the prefix comes from, for app keys.
    public let app: String?
    /// The provider (README grouping, benchmark families).
    public let family: String
    /// The finding's severity in a committed file (untracked and outside a repository: at most a warning).
    public let severity: Finding.Severity
    /// Where and how to revoke the key.
    public let remediation: String
    /// The words the prefilter looks for (case-insensitive): the prefixes, and for `.assignment` and the other
    /// keyword shapes, the keywords themselves.
    public let keywords: [String]
    public let check: Check
    /// A user rule's floor: a key with fewer bits of entropy per character is not reported.
    public let entropyFloor: Double?
    /// A user rule's allowlist: a key holding one of these is not reported.
    public let allowlist: [String]

    public init(
        id: String, name: String, prefixes: [String], shape: Shape, app: String? = nil, family: String = "",
        severity: Finding.Severity = .error, remediation: String = "", keywords: [String] = [], check: Check = .none,
        entropyFloor: Double? = nil, allowlist: [String] = []
    ) {
        self.entropyFloor = entropyFloor
        self.allowlist = allowlist
        self.id = id
        self.name = name
        self.prefixes = prefixes
        self.shape = shape
        self.app = app
        self.family = family.isEmpty ? (app ?? "Other") : family
        self.severity = severity
        self.remediation =
            remediation.isEmpty
            ? "Revoke the key in \(app ?? "its provider")'s dashboard or CLI and create a new one." : remediation
        self.keywords = keywords.isEmpty ? prefixes : keywords
        self.check = check
    }

    /// Whether a match of this rule is a value named by its context (a keyword rule) rather than a key of a known
    /// format: such a match gives way to a format match on the same bytes.
    var isContextRule: Bool {
        switch shape {
        case .assignment, .credentialURL, .basicAuth, .sasSignature: return true
        default: return false
        }
    }

    /// Whether the prefixes are where the key starts (at the start of a word).
    var startsAtPrefix: Bool {
        switch shape {
        case .token, .privateKeyBlock, .encodedPrivateKey, .puttyKey, .jwt: return true
        default: return false
        }
    }

    /// The built-in rules (`builtIn`): the formats the README's table lists.
    public static let wellKnown: [SecretRule] = builtIn

    /// One rule per app spec that names key prefixes (`rfx_`, `rp_`, `reminix_sk_`...): the prefix, then at least
    /// 16 letters and digits.
    /// A prefix a provider rule already covers (the gh spec's `ghp_`, npm's `npm_`) is left to that rule, so a key
    /// is reported once, under the rule that knows its exact shape.
    public static func appRules(_ specs: [AppSpec]) -> [SecretRule] {
        let known = providerRules.filter(\.startsAtPrefix).flatMap(\.prefixes)
        return specs.compactMap { spec in
            var prefixes: [String] = []
            for p in spec.requiredPrefixes + spec.expectedPrefixes + spec.tokenKinds.map(\.prefix)
            where !p.isEmpty && !prefixes.contains(p) && !known.contains(where: { p.hasPrefix($0) || $0.hasPrefix(p) })
            {
                prefixes.append(p)
            }
            guard !prefixes.isEmpty else { return nil }
            return SecretRule(
                id: "\(spec.name)-api-key", name: "\(spec.name) API key", prefixes: prefixes,
                shape: .token(alphabet: .alphanumeric, minimum: 16, maximum: 200), app: spec.name)
        }
    }
}
