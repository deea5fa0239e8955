/// git's credential helper on any Keyway store (`keyway git-credential get|store|erase`).
///
/// Storage: one Keyway credential per (protocol, host with its port, path, username), in the app namespace
/// `git-credential`, apart from API keys. Its profile is the URL `PROTOCOL://USERNAME@HOST[:PORT][/PATH]`, each part
/// percent-encoded (so it is unambiguous and holds no control character), the credential's account is the username,
/// its secret the password (`HelperSecret`: encoded when a refresh token or an `authtype` credential comes with it),
/// and `password_expiry_utc=N` is kept as a scope (the expiry day also as the credential's expiry date).
///
/// - `get`: the entries matching what git sent (protocol, host, path when git sends one, username when git sends
///   one), expired ones left out; of several, the one stored most recently (then the first profile in order), and a
///   note names the others. An entry holding only an `authtype` credential is given only to a git that announces the
///   `authtype` capability.
/// - `store`: needs protocol, host or path, username and a password (or, with `authtype`, a credential); an
///   incomplete, `ephemeral` or already expired credential is not stored (as git's own helpers do).
/// - `erase`: needs a protocol and a host (or a path); removes the matching entries whose stored password (and
///   `authtype` credential) equal the ones git sends (git 2.42+), every matching entry when git sends neither.
public struct GitCredentialHelper: Sendable {
    public static let app = GitCredentialProfile.app

    public let store: any CredentialStore

    public init(store: any CredentialStore) { self.store = store }

    /// What `get` answers, and the notes for standard error.
    public struct Answer: Sendable {
        public var message: GitCredentialMessage?
        public var notes: [String]
    }

    /// One stored entry, decoded.
    struct Entry {
        var protocolName: String
        var host: String
        var path: String?
        var username: String?
        var fields: [String: String]
        var passwordExpiryUTC: Int64?
        var updated: Timestamp
        var origin: Origin

        /// Where an entry is stored: a Keyway credential, or an item git-credential-libsecret stored in the keyring.
        enum Origin {
            case keyway(CredentialID)
            case libsecret(path: String)
        }

        var order: String {
            switch origin {
            case .keyway(let id): return id.profile
            case .libsecret(let path): return "~" + path
            }
        }

        var password: String? { fields["password"] }

        var isKeyway: Bool {
            if case .keyway = origin { return true }
            return false
        }

        func isExpired(now: Int64) -> Bool { passwordExpiryUTC.map { $0 <= now } ?? false }

        func matches(_ request: GitCredentialMessage) -> Bool {
            func check(_ wanted: String?, _ have: String?) -> Bool {
                guard let wanted else { return true }
                return have.map { $0.utf8.elementsEqual(wanted.utf8) } ?? false
            }
            return check(request.protocolName, protocolName) && check(request.host, host)
                && check(request.path.flatMap { $0.isEmpty ? nil : $0 }, path) && check(request.username, username)
        }
    }

    // MARK: - Names

    /// The profile for an entry: `PROTOCOL://[USERNAME@]HOST[/PATH]`, percent-encoded.
    static func profile(protocolName: String, host: String, path: String?, username: String?) -> String {
        GitCredentialProfile.make(protocolName: protocolName, host: host, path: path, username: username)
    }

    static func entry(_ credential: Credential) -> Entry? {
        guard credential.id.app == app, let parts = GitCredentialProfile.parts(credential.id.profile),
            let fields = HelperSecret.decode(credential, plainKey: "password")
        else { return nil }
        return Entry(
            protocolName: parts.protocolName, host: parts.host, path: parts.path, username: parts.username,
            fields: fields,
            passwordExpiryUTC: HelperSecret.scope("password_expiry_utc", in: credential).flatMap { Int64($0) },
            updated: credential.updated, origin: .keyway(credential.id))
    }

    /// Every entry of the store, and how many git-credential credentials could not be read as one; with
    /// `libsecretFor`, also git-credential-libsecret's items for that request when the store has a keyring
    /// (`KeyringInterop`).
    func entries(libsecretFor request: GitCredentialMessage? = nil) throws(KeywayError) -> (
        entries: [Entry], unreadable: Int
    ) {
        let credentials = try store.list(app: Self.app)
        var entries = credentials.compactMap(Self.entry)
        let unreadable = credentials.count - entries.count
        if let request { entries += try KeyringInterop.gitItems(in: store, for: request) }
        return (entries, unreadable)
    }

    // MARK: - get

    public func get(_ request: GitCredentialMessage, now: Int64 = Timestamp.now().secondsSinceEpoch)
        throws(KeywayError) -> Answer
    {
        var notes: [String] = []
        let found = try entries()
        var all = found.entries
        let unreadable = found.unreadable
        // git-credential-libsecret's items only when Keyway holds no entry for the request.
        if !all.contains(where: { $0.matches(request) }) { all += try KeyringInterop.gitItems(in: store, for: request) }
        if unreadable > 0 {
            notes.append(
                "\(unreadable) \(unreadable == 1 ? "credential" : "credentials") of the app \(Self.app) are not "
                    + "entries Keyway's git helper wrote (or an encoded secret is damaged); they were skipped.")
        }
        let usable = { (entry: Entry) -> Bool in
            entry.password != nil || (request.announcesAuthtype && entry.fields["credential"] != nil)
        }
        let matching = all.filter { $0.matches(request) && usable($0) }
        let expired = matching.filter { $0.isExpired(now: now) }
        // Keyway's own entries first, then git-credential-libsecret's; each the most recent first.
        let candidates = matching.filter { !$0.isExpired(now: now) }.sorted { a, b in
            if a.isKeyway != b.isKeyway { return a.isKeyway }
            return a.updated != b.updated ? a.updated > b.updated : a.order.utf8.lexicographicallyPrecedes(b.order.utf8)
        }
        if !expired.isEmpty {
            notes.append(
                "\(expired.count) stored \(expired.count == 1 ? "password has" : "passwords have") expired for "
                    + "\(Self.shownTarget(request)) and \(expired.count == 1 ? "was" : "were") not given to git.")
        }
        guard let chosen = candidates.first else { return Answer(message: nil, notes: notes) }
        if candidates.count > 1 {
            let others = candidates.dropFirst().map { shownHelperName($0.username) }
            notes.append(
                "\(candidates.count) accounts are stored for \(Self.shownTarget(request)); git was given the one "
                    + "stored most recently (\(shownHelperName(chosen.username))). The others: "
                    + "\(others.joined(separator: ", ")). To choose, put the username in the URL "
                    + "(https://USERNAME@host/...) or set git config credential.username.")
        }
        var answer = GitCredentialMessage()
        answer.protocolName = chosen.protocolName
        answer.host = chosen.host
        answer.path = request.path.flatMap { $0.isEmpty ? nil : $0 } == nil ? nil : chosen.path
        answer.username = chosen.username
        answer.passwordExpiryUTC = chosen.passwordExpiryUTC
        answer.oauthRefreshToken = chosen.fields["oauth_refresh_token"].map(Secret.init)
        if request.announcesAuthtype, let credential = chosen.fields["credential"], let type = chosen.fields["authtype"]
        {
            answer.capabilities = ["authtype"]
            answer.authtype = type
            answer.credential = Secret(credential)
        }
        answer.password = chosen.password.map(Secret.init)
        return Answer(message: answer, notes: notes)
    }

    static func shownTarget(_ request: GitCredentialMessage) -> String {
        let host = request.host.map(APIKeyRules.shownName) ?? "(no host)"
        return "\(request.protocolName.map(APIKeyRules.shownName) ?? "(any protocol)")://\(host)"
    }

    // MARK: - store

    /// Stores what git approved; returns a note when nothing was stored and why (git shows no helper output for
    /// store, but the note goes to standard error for a person debugging).
    @discardableResult
    public func store(_ request: GitCredentialMessage, now: Int64 = Timestamp.now().secondsSinceEpoch)
        throws(KeywayError) -> String?
    {
        guard let protocolName = request.protocolName, request.host != nil || request.path != nil,
            let username = request.username
        else { return "The credential git approved lacks a protocol, host or username; nothing was stored." }
        if request.ephemeral { return "The credential is marked ephemeral; nothing was stored." }
        if let expiry = request.passwordExpiryUTC, expiry <= now {
            return "The password has already expired; nothing was stored."
        }
        var fields: [(String, String)] = []
        if let password = request.password { fields.append(("password", password.reveal())) }
        if request.announcesAuthtype, let type = request.authtype, let credential = request.credential {
            fields.append(("authtype", type))
            fields.append(("credential", credential.reveal()))
        }
        guard !fields.isEmpty else { return "The credential git approved has no password; nothing was stored." }
        if let token = request.oauthRefreshToken { fields.append(("oauth_refresh_token", token.reveal())) }
        let encoded = try HelperSecret.encode(fields, plainKey: "password")
        let secret = encoded.secret
        var scopes = encoded.scopes
        let host = request.host ?? ""
        let path = request.path.flatMap { $0.isEmpty ? nil : $0 }
        let id = CredentialID(
            app: Self.app, profile: Self.profile(protocolName: protocolName, host: host, path: path, username: username)
        )
        if let problem = id.problem {
            throw KeywayError(
                .invalidInput,
                "The credential for \(Self.shownTarget(request)) cannot be stored: its entry name (protocol, user, "
                    + "host and path) \(problem.replacingFirst("profile name ", with: "")); nothing was stored.")
        }
        var expires: Day?
        if let expiry = request.passwordExpiryUTC {
            scopes.append("password_expiry_utc=\(expiry)")
            expires = Timestamp(secondsSinceEpoch: expiry).utcDay
        }
        let existing = try? store.read(id)
        let stamp = Timestamp(secondsSinceEpoch: now)
        try store.write(
            Credential(
                id: id, secret: secret, account: username, scopes: scopes, expires: expires,
                created: existing?.created ?? stamp, updated: stamp))
        return nil
    }

    // MARK: - erase

    /// Removes the matching entries whose password and `authtype` credential are the ones git sends (all matching
    /// ones when it sends neither); nothing without a protocol and a host or path. Returns how many went.
    @discardableResult
    public func erase(_ request: GitCredentialMessage) throws(KeywayError) -> Int {
        // Never "erase everything" (or every account of a host): a protocol, and a host (or a path) with it.
        guard request.protocolName != nil, request.host != nil || request.path.map({ !$0.isEmpty }) == true else {
            return 0
        }
        var removed = 0
        func same(_ stored: String?, _ sent: Secret) -> Bool {
            stored.map { $0.utf8.elementsEqual(sent.reveal().utf8) } ?? false
        }
        for entry in try entries(libsecretFor: request).entries where entry.matches(request) {
            // What git sends is compared: the password, and the authtype credential (git 2.46+).
            if let password = request.password, !same(entry.password, password) { continue }
            if let credential = request.credential, !same(entry.fields["credential"], credential) { continue }
            switch entry.origin {
            case .keyway(let id): if try store.delete(id) { removed += 1 }
            case .libsecret(let path):
                if try KeyringInterop.keyring(of: store)?.deleteForeignItem(path: path) == true { removed += 1 }
            }
        }
        return removed
    }
}

extension GitCredentialHelper {
    /// What `importExisting` did.
    public struct ImportReport: Sendable {
        /// The entries imported, as profiles.
        public var imported: [String] = []
        /// How many git-credential-libsecret items were deleted (with `remove`: those copied or already held with
        /// the same password).
        public var removedItems = 0
        /// How many git-credential-libsecret items `remove` deletes (those copied or already held with the same
        /// password), counted with or without it.
        public var removableItems = 0
        /// Lines of the file that are not `protocol://user:password@host` URLs.
        public var unreadableLines = 0
        /// Lines of the file not copied: Keyway holds a different password for the entry, or cannot store it.
        public var uncopiedLines = 0
        /// Whether the file exists, and whether it was removed (with `remove`).
        public var fileFound = false
        public var fileRemoved = false
        /// Why the file was not removed though every line of it was copied (with `remove`): it is a symbolic link
        /// (`unsafeFile`), or it changed since it was read (`fileChanged`).
        public var removalRefused: KeywayError?
    }

    /// Copies git-credential-libsecret's keyring items and the lines of git-credential-store's file
    /// (`gitCredentialsFile`, `~/.git-credentials`: one `protocol://user:password@host[/path]` URL a line) into
    /// Keyway's store; an entry Keyway already holds is kept. With `remove`, then deletes the items copied or already
    /// held with the same password, and the file when every line of it was: never through a symbolic link and only
    /// when it is still as it was read (a git with `credential.helper store` may have written it meanwhile); else
    /// `removalRefused` says why it stays.
    public func importExisting(gitCredentialsFile: String?, remove: Bool = false) throws(KeywayError) -> ImportReport {
        var report = ImportReport()
        func add(_ request: GitCredentialMessage) throws(KeywayError) -> Bool {
            guard let protocolName = request.protocolName, let username = request.username else { return false }
            let id = CredentialID(
                app: Self.app,
                profile: Self.profile(
                    protocolName: protocolName, host: request.host ?? "", path: request.path, username: username))
            if let held = try store.read(id) {
                // Already held: the original counts as copied when Keyway holds the same password.
                return Self.entry(held)?.password.map { $0.utf8.elementsEqual((request.password?.reveal() ?? "").utf8) }
                    ?? false
            }
            guard try store(request) == nil else { return false }
            report.imported.append(id.profile)
            return true
        }
        var paths: [String] = []
        for entry in try KeyringInterop.allGitItems(in: store) {
            var request = GitCredentialMessage()
            request.protocolName = entry.protocolName
            request.host = entry.host
            request.path = entry.path
            request.username = entry.username
            request.password = entry.password.map(Secret.init)
            request.passwordExpiryUTC = entry.passwordExpiryUTC
            request.oauthRefreshToken = entry.fields["oauth_refresh_token"].map(Secret.init)
            if try add(request), case .libsecret(let path) = entry.origin { paths.append(path) }
        }
        // What `remove` may delete: the file as read, never through a symbolic link.
        var snapshot: FileSnapshot?
        var linkTarget: String?
        if let gitCredentialsFile {
            let file = ProtectedFile(path: gitCredentialsFile)
            let bytes: [UInt8]?
            if let st = try? Sys.lstat(gitCredentialsFile), FileMode.isSymlink(st) {
                linkTarget = (try? Sys.realpath(gitCredentialsFile)) ?? "(a target that cannot be resolved)"
                bytes = try file.read()
            } else {
                snapshot = try file.snapshot()
                bytes = snapshot?.bytes
            }
            report.fileFound = bytes != nil
            for line in (bytes ?? []).split(separator: 0x0A) where !line.isEmpty {
                guard let request = try? GitCredentialProtocol.parse(Array("url=".utf8) + line),
                    request.password != nil
                else {
                    report.unreadableLines += 1
                    continue
                }
                if !(try add(request)) { report.uncopiedLines += 1 }
            }
        }
        report.removableItems = paths.count
        guard remove else { return report }
        for path in paths where try KeyringInterop.keyring(of: store)?.deleteForeignItem(path: path) == true {
            report.removedItems += 1
        }
        guard let gitCredentialsFile, report.fileFound, report.unreadableLines == 0, report.uncopiedLines == 0 else {
            return report
        }
        if let linkTarget {
            report.removalRefused = KeywayError(
                .unsafeFile,
                "Imported, but not removing \(gitCredentialsFile): it is a symbolic link to \(linkTarget), which "
                    + "holds the passwords (removing the link would leave them there). If you mean to, remove "
                    + "\(linkTarget) yourself, then the link.", path: gitCredentialsFile)
            return report
        }
        guard let snapshot, try ProtectedFile(path: gitCredentialsFile).removeIfUnchanged(snapshot) else {
            report.removalRefused = KeywayError(
                .fileChanged,
                "Imported, but not removing \(gitCredentialsFile): it changed while it was being imported (is git's "
                    + "credential.helper store still configured?). Run keyway import git --remove again.",
                path: gitCredentialsFile)
            return report
        }
        report.fileRemoved = true
        return report
    }
}

extension String {
    fileprivate func replacingFirst(_ prefix: String, with replacement: String) -> String {
        hasPrefix(prefix) ? replacement + dropFirst(prefix.count) : self
    }
}
