import Glibc

/// The app specs in force: the built-in ones, overridden or extended by `apps/*.json` in the config directory.
public struct AppCatalog: Sendable {
    public struct Entry: Sendable {
        public let spec: AppSpec
        /// `built-in`, or the path of the user's file.
        public let origin: String
        /// True when a user file replaces a built-in spec of the same name.
        public let overridesBuiltIn: Bool
    }

    public let directory: String
    /// The specs of the user's files, in file-name order.
    let userEntries: [Entry]

    /// Every spec in force: the built-ins in their order (a user file of the same name in its place), then the user's
    /// other specs. Decodes every built-in; `spec(for:)` decodes only the one it is asked for.
    public var entries: [Entry] {
        var result = Self.builtIn.map { spec in
            userEntries.first { $0.spec.name == spec.name }
                ?? Entry(spec: spec, origin: "built-in", overridesBuiltIn: false)
        }
        result += userEntries.filter { !$0.overridesBuiltIn }
        return result
    }

    /// The built-in specs by app name (one file each in `BuiltIn/`), written in the same JSON format users write (so both
    /// take the same path).
    /// They are decoded when used: a `get` decodes at most the one of its app (a built-in's `name` is its key here,
    /// which the tests check).
    public static let builtInJSON: KeyValuePairs<String, String> = [
        "reflex": reflexJSON,
        "reflow": reflowJSON,
        "reactor": reactorJSON,
        "reminix": reminixJSON,
        "fluxloop": fluxloopJSON,
        "gh": githubCLIJSON,
        "openai": openaiJSON,
        "anthropic": anthropicJSON,
        "huggingface": huggingfaceJSON,
        "npm": npmJSON,
        "pypi": pypiJSON,
        "stripe": stripeJSON,
        "gitlab": gitlabJSON,
        "doctl": doctlJSON,
        "sentry": sentryJSON,
    ]

    /// Every built-in spec, decoded.
    public static var builtIn: [AppSpec] { builtInJSON.map { decodeBuiltIn($0.value) } }

    /// The built-in spec for `app`, decoded, or nil when there is none.
    static func builtIn(_ app: String) -> AppSpec? {
        builtInJSON.first { $0.key == app }.map { decodeBuiltIn($0.value) }
    }

    private static func decodeBuiltIn(_ text: String) -> AppSpec {
        // A broken built-in is a programming error caught by the tests.
        try! AppSpecDecoder.decode(Array(text.utf8), source: "built-in")
    }

    /// Loads the built-ins and every `*.json` in `<configDirectory>/apps`. A malformed file is an error naming it.
    public static func load(configDirectory: String) throws(KeywayError) -> AppCatalog {
        let directory = configDirectory + "/apps"
        var userEntries: [Entry] = []
        for file in try jsonFiles(in: directory) {
            let bytes: [UInt8]?
            bytes = try ProtectedFile(path: file).read()
            guard let bytes else { continue }
            let spec = try AppSpecDecoder.decode(bytes, source: file)
            if let other = userEntries.first(where: { $0.spec.name == spec.name }) {
                throw KeywayError(
                    .malformedSpec, "\(file) and \(other.origin) both define the app '\(spec.name)'.", path: file)
            }
            let overrides = builtInJSON.contains { $0.key == spec.name }
            userEntries.append(Entry(spec: spec, origin: file, overridesBuiltIn: overrides))
        }
        return AppCatalog(directory: directory, userEntries: userEntries)
    }

    /// The spec for `app`, or the default spec.
    public func spec(for app: String) -> AppSpec {
        entry(for: app)?.spec ?? AppSpec.defaultSpec(for: app)
    }

    public func entry(for app: String) -> Entry? {
        if let user = userEntries.first(where: { $0.spec.name == app }) { return user }
        return Self.builtIn(app).map { Entry(spec: $0, origin: "built-in", overridesBuiltIn: false) }
    }

    /// The names of the specs in force closest to `app`, for a name with no spec (a typo, `Reflex` for `reflex`):
    /// the names equal to it ignoring case, else those within an edit distance of 2 (1 for a name of up to 4
    /// characters), closest first. Empty when `app` has a spec.
    public func suggestions(for app: String) -> [String] {
        guard entry(for: app) == nil else { return [] }
        var names: [String] = []
        for name in Self.builtInJSON.map(\.key) + userEntries.map(\.spec.name) where !names.contains(name) {
            names.append(name)
        }
        let wanted = app.lowercased()
        let sameIgnoringCase = names.filter { $0.lowercased() == wanted }
        if !sameIgnoringCase.isEmpty { return sameIgnoringCase }
        let limit = wanted.count <= 4 ? 1 : 2
        let near = names.map { (name: $0, distance: Self.editDistance(wanted, $0.lowercased())) }
            .filter { $0.distance <= limit }
        guard let best = near.map(\.distance).min() else { return [] }
        return near.filter { $0.distance == best }.map(\.name)
    }

    /// The Levenshtein distance between `a` and `b` (insertions, deletions, substitutions).
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    /// The `*.json` files of `directory` (not hidden ones), sorted; none when it does not exist. `what` names the
    /// directory in the error.
    package static func jsonFiles(in directory: String, what: String = "app spec") throws(KeywayError) -> [String] {
        guard let dir = opendir(directory) else {
            if errno == ENOENT || errno == ENOTDIR { return [] }
            throw KeywayError(
                .io, "Cannot read the \(what) directory \(directory): \(Errno.current).", path: directory)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name.hasSuffix(".json"), !name.hasPrefix(".") { names.append(name) }
        }
        return names.sorted().map { directory + "/" + $0 }
    }
}
