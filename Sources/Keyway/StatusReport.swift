// What `keyway status` shows, as data: every credential an app can get (from the environment, its own files and
// every stored copy), which one is in use, and the warnings about each. The CLI renders it as text or JSON.

/// One credential a status report shows: a key from an environment variable, from one of the app's own files, or a
/// stored copy in one backend, with whether it is the one resolution uses.
public struct CredentialStatus: Sendable {
    /// The app and profile the key is for.
    public let id: CredentialID
    /// The key masked with the longest prefix the app's spec names kept whole.
    public let masked: String
    /// The key, where it comes from, and what was recorded with it.
    public let key: ResolvedKey
    /// The key's token kind, where the app's spec defines kinds.
    public let kind: AppSpec.TokenKind?
    /// Whether resolution returns this key (false: another layer, or another backend's copy, wins over it).
    public let inUse: Bool
    /// Expiry and rotation warnings; for the key in use a deprecated variable or an unexpected prefix; for another,
    /// what wins over it (`env-overrides-store`, `overridden`).
    public var warnings: [KeywayWarning]

    /// Whether the key's recorded expiry date is before `today`.
    public func isExpired(today: Day = .today()) -> Bool { key.expires.map { $0 < today } ?? false }
}

/// Every credential of every app (or of one app and profile) that an environment and Keyway's stores supply, as
/// `keyway status` shows them.
public struct StatusReport: Sendable {
    /// Something found on the way, in the order found: a layer that cannot be read (the app's resolution fails), or
    /// a warning about a credentials file (git, permissions).
    public enum Problem: Sendable {
        /// A layer of an app's resolution that cannot be read (a malformed file, a failing backend...).
        case error(KeywayError)
        /// A credentials file tracked by git or that git would pick up, or with permissions others can use.
        case warning(KeywayWarning)
    }

    /// The credentials, by app (the ones stored first, then the catalog's), then by profile, in resolution order.
    public var credentials: [CredentialStatus]
    /// The backends whose copies could not be listed, and why (see `storedCopies`).
    public var notes: [String]
    /// The problems, in the order found.
    public var problems: [Problem]

    /// The first layer that cannot be read, if any.
    public var error: KeywayError? {
        for case .error(let error) in problems { return error }
        return nil
    }

    /// Assembles the report from the store `options` select, opened (`store`), and every other stored copy.
    ///
    /// - Parameters:
    ///   - specs: the app specs in force (the CLI's: `AppCatalog.entries`); an app without one gets
    ///     `AppSpec.defaultSpec(for:)`.
    ///   - app: only this app; nil: every app with a stored credential, then every app of `specs`.
    ///   - profile: only this profile; nil: the default profile, every stored one and every one the app's
    ///     per-profile files hold.
    ///   - workingDirectory: where a `git-root` source looks for the repository; nil: the current directory.
    public init(
        options: StoreOptions, store: any CredentialStore, specs: [AppSpec], app: String? = nil,
        profile: String? = nil, workingDirectory: String? = nil
    ) throws(KeywayError) {
        let directory = workingDirectory ?? currentDirectory()
        // Every stored copy, so one that another backend shadows is shown too (not in use).
        var (copies, notes) = try storedCopies(options, app: app)
        if let profile { copies = copies.filter { $0.credential.id.profile == profile } }
        let stored = copies.map(\.credential)

        var apps: [String] = []
        let candidates = app.map { [$0] } ?? (stored.map(\.id.app) + specs.map(\.name))
        for name in candidates where !apps.contains(name) { apps.append(name) }

        var entries: [CredentialStatus] = []
        var problems: [Problem] = []
        for name in apps {
            let engine = ResolutionEngine(
                spec: specs.first { $0.name == name } ?? AppSpec.defaultSpec(for: name),
                environment: options.environment, store: store,
                workingDirectory: directory, strict: options.strict, foreignKeyring: StoreKeyringReader(store: store))
            var profiles: [String] = []
            let fromFiles = profile == nil ? try engine.profilesInFiles().flatMap(\.profiles) : []
            let candidates =
                profile.map { [$0] }
                ?? [CredentialID.defaultProfile] + stored.filter { $0.id.app == name }.map(\.id.profile) + fromFiles
            for p in candidates where !profiles.contains(p) { profiles.append(p) }
            var environmentShown = Set<String>()
            for p in profiles {
                let resolution = try engine.resolve(profile: p, explain: true)
                if let error = resolution.error { problems.append(.error(error)) }
                for warning in resolution.warnings
                where [.gitTracked, .gitUntracked, .gitUnknown, .insecurePermissions].contains(warning.code) {
                    problems.append(.warning(warning))
                }
                for layer in resolution.layers
                where [.env, .file, .keyring, .store].contains(layer.kind)
                    && [.found, .shadowed].contains(layer.status)
                {
                    guard let key = layer.key else { continue }
                    if layer.kind == .env, !environmentShown.insert(layer.name).inserted { continue }
                    let inUse = layer.status == .found
                    var warnings = engine.expiryWarnings(
                        expires: key.expires, created: key.credential?.created, source: key.source)
                    if inUse {
                        warnings += resolution.warnings.filter {
                            [.deprecatedVariable, .unexpectedPrefix].contains($0.code)
                        }
                    } else if let winner = resolution.key {
                        let code: KeywayWarning.Code = {
                            if case .environment = winner.source { return .environmentOverridesStore }
                            return .overridden
                        }()
                        warnings.append(
                            KeywayWarning(code, "Not in use: the \(winner.source) wins over this key."))
                    }
                    entries.append(
                        CredentialStatus(
                            id: CredentialID(app: name, profile: p),
                            masked: Masking.mask(
                                key.secret.reveal(), knownPrefix: engine.spec.knownPrefix(of: key.secret.reveal())),
                            key: key, kind: engine.spec.tokenKind(of: key.secret.reveal()), inUse: inUse,
                            warnings: warnings))
                }
                // The stored copies the store layer did not return: shadowed by another backend's copy, or in a
                // backend other than the one selected.
                for copy in copies where !copy.inUse && copy.credential.id == CredentialID(app: name, profile: p) {
                    let key = ResolvedKey(
                        id: copy.credential.id, secret: copy.credential.secret,
                        source: .store(backend: copy.backend, location: copy.location), credential: copy.credential)
                    let reveal = key.secret.reveal()
                    let why =
                        options.backend == .auto
                        ? resolution.key.map { "the \($0.source) wins over this copy" } ?? "another copy comes first"
                        : "only the \(options.backend) store is in use (--backend or KEYWAY_BACKEND)"
                    let warnings =
                        engine.expiryWarnings(
                            expires: key.expires, created: copy.credential.created, source: key.source)
                        + [
                            KeywayWarning(
                                .overridden,
                                "Not in use: \(why). Remove this copy with: keyway logout \(name) --profile \(p) "
                                    + "--backend \(copy.backend)")
                        ]
                    entries.append(
                        CredentialStatus(
                            id: copy.credential.id,
                            masked: Masking.mask(reveal, knownPrefix: engine.spec.knownPrefix(of: reveal)),
                            key: key, kind: engine.spec.tokenKind(of: reveal), inUse: false, warnings: warnings))
                }
            }
        }
        self.credentials = entries
        self.notes = notes
        self.problems = problems
    }
}

extension KeywayWarning.Code {
    /// A key that another layer (not the environment) or another backend's copy wins over.
    public static let overridden = KeywayWarning.Code(rawValue: "overridden")
}
