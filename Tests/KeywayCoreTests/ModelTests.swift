import KeywayCore
import Testing

@Suite struct DayTests {
    @Test func parsesRealDatesOnly() {
        #expect(Day(parsing: "2026-11-21")?.description == "2026-11-21")
        #expect(Day(parsing: "2024-02-29") != nil)
        #expect(Day(parsing: "2026-02-29") == nil)
        #expect(Day(parsing: "2026-13-01") == nil)
        #expect(Day(parsing: "2026-1-01") == nil)
        #expect(Day(parsing: "26-11-21") == nil)
        #expect(Day(parsing: "2026-11-21T00:00") == nil)
        #expect(Day(parsing: "2026-00-10") == nil)
        #expect(Day(parsing: "２０２６-11-21") == nil)
    }

    @Test func ordinalsAndDifferences() {
        #expect(Day(year: 1970, month: 1, day: 1)!.ordinal == 0)
        #expect(Day(year: 2000, month: 3, day: 1)!.ordinal == 11017)
        let a = Day(parsing: "2024-01-22")!, b = Day(parsing: "2024-04-15")!
        #expect(b.days(since: a) == 84)  // FluxLoop's documented "84 days remaining"
        #expect(a.days(since: b) == -84)
    }

    @Test func expiry() {
        let today = Day(parsing: "2026-11-21")!
        var c = Credential(id: CredentialID(app: "x"), secret: Secret("k"), expires: Day(parsing: "2026-11-21"))
        #expect(c.daysRemaining(today: today) == 0)
        #expect(!c.isExpired(today: today))
        c.expires = Day(parsing: "2026-11-20")
        #expect(c.isExpired(today: today))
        c.expires = nil
        #expect(!c.isExpired(today: today))
        #expect(c.daysRemaining(today: today) == nil)
    }
}

@Suite struct TimestampTests {
    @Test func roundTrip() {
        for seconds: Int64 in [0, 1, 86399, 86400, 951_782_400, 1_700_000_000, 4_102_444_799] {
            let t = Timestamp(secondsSinceEpoch: seconds)
            #expect(Timestamp(parsing: t.description) == t, "\(t)")
        }
        #expect(Timestamp(secondsSinceEpoch: 1_700_000_000).description == "2023-11-14T22:13:20Z")
    }

    @Test func parsesOffsetsAndFractions() {
        #expect(Timestamp(parsing: "2025-01-01T12:00:00Z")?.description == "2025-01-01T12:00:00Z")
        #expect(Timestamp(parsing: "2025-01-01T12:00:00.123Z")?.description == "2025-01-01T12:00:00Z")
        #expect(Timestamp(parsing: "2025-01-01T14:00:00+02:00")?.description == "2025-01-01T12:00:00Z")
        #expect(Timestamp(parsing: "2025-01-01 12:00:00Z") == nil)
        #expect(Timestamp(parsing: "2025-01-01T12:00:00") == nil)
        #expect(Timestamp(parsing: "2025-01-01T25:00:00Z") == nil)
    }
}

@Suite struct NamingTests {
    @Test(arguments: [
        ("reflex", "REFLEX_API_KEY"), ("my-app", "MY_APP_API_KEY"), ("app.v2", "APP_V2_API_KEY"),
        ("Flux Loop", "FLUX_LOOP_API_KEY"), ("café", "CAF__API_KEY"), ("a9", "A9_API_KEY"),
    ])
    func environmentVariable(app: String, variable: String) {
        #expect(defaultEnvironmentVariable(for: app) == variable)
    }

    @Test func validation() {
        #expect(throws: KeywayError.self) { try CredentialID(app: "").validate() }
        #expect(throws: KeywayError.self) { try CredentialID(app: "a", profile: "").validate() }
        #expect(throws: KeywayError.self) { try CredentialID(app: "a\nb").validate() }
        #expect(throws: Never.self) { try CredentialID(app: "ünï", profile: "prod 🚀").validate() }
        #expect(throws: KeywayError.self) { try validateAPIKey(Secret("")) }
        #expect(throws: KeywayError.self) { try validateAPIKey(Secret("abc\ndef")) }
        #expect(throws: Never.self) { try validateAPIKey(Secret("rfx_abc")) }
    }
}

@Suite struct PathTests {
    @Test func precedence() throws {
        let home = Environment(["HOME": "/h"])
        #expect(try KeywayPaths(environment: home).credentialsFile == "/h/.config/keyway/credentials.json")
        let xdg = Environment(["HOME": "/h", "XDG_CONFIG_HOME": "/x"])
        #expect(try KeywayPaths(environment: xdg).configDirectory == "/x/keyway")
        let relativeXDG = Environment(["HOME": "/h", "XDG_CONFIG_HOME": "relative"])
        #expect(try KeywayPaths(environment: relativeXDG).configDirectory == "/h/.config/keyway")
        let dir = Environment(["HOME": "/h", "XDG_CONFIG_HOME": "/x", "KEYWAY_CONFIG_DIR": "/k"])
        #expect(try KeywayPaths(environment: dir).credentialsFile == "/k/credentials.json")
        let file = Environment(["HOME": "/h", "KEYWAY_CONFIG_DIR": "/k", "KEYWAY_CREDENTIALS_FILE": "/f.json"])
        #expect(try KeywayPaths(environment: file).credentialsFile == "/f.json")
        #expect(try KeywayPaths(environment: file).configDirectory == "/k")
    }
}

@Suite struct ResolverTests {
    struct MemoryStore: CredentialStore {
        var credentials: [Credential] = []
        var failing = false
        var backendName: String { "memory" }
        var location: String { "memory" }
        func availability() -> Availability { .available }
        func read(_ id: CredentialID) throws(KeywayError) -> Credential? {
            if failing { throw KeywayError(.io, "broken") }
            return credentials.first { $0.id == id }
        }
        func write(_ credential: Credential) throws(KeywayError) {}
        func delete(_ id: CredentialID) throws(KeywayError) -> Bool { false }
        func deleteAll(app: String) throws(KeywayError) -> [CredentialID] { [] }
        func list(app: String?) throws(KeywayError) -> [Credential] { credentials }
    }

    func engine(_ env: [String: String], _ store: MemoryStore) -> ResolutionEngine {
        ResolutionEngine(
            spec: .defaultSpec(for: "reflex-like"), environment: Environment(env), store: store,
            workingDirectory: "/")
    }

    @Test func order() throws {
        let id = CredentialID(app: "reflex-like")
        let store = MemoryStore(credentials: [Credential(id: id, secret: Secret("stored"))])
        let withEnv = engine(["REFLEX_LIKE_API_KEY": "fromenv"], store)
        #expect(try withEnv.resolve(apiKey: "flag").key?.secret.reveal() == "flag")
        #expect(try withEnv.resolve(apiKey: "flag").key?.source == .flag)
        #expect(try withEnv.resolve().key?.secret.reveal() == "fromenv")
        #expect(try withEnv.resolve().key?.source == .environment("REFLEX_LIKE_API_KEY"))
        let emptyEnv = engine(["REFLEX_LIKE_API_KEY": ""], store)
        #expect(try emptyEnv.resolve().key?.secret.reveal() == "stored")
        #expect(try emptyEnv.resolve().key?.credential != nil)
        #expect(try emptyEnv.resolve(profile: "other").key == nil)
    }

    @Test func storeFailureIsAnErrorNotNotFound() throws {
        let failing = engine([:], MemoryStore(failing: true))
        #expect(throws: KeywayError.self) { try failing.resolve() }
        // With explain, the failure is in the result (not thrown).
        let explained = try failing.resolve(explain: true)
        #expect(explained.error?.message == "broken")
        #expect(explained.key == nil)
        #expect(explained.layers.last?.status == .error)
    }

    @Test func notFoundMessage() {
        #expect(
            AppSpec.defaultSpec(for: "reflex").notFound(CredentialID(app: "reflex"))
                == "Error: API key is required. Run `keyway login reflex` or set REFLEX_API_KEY.")
        #expect(
            AppSpec.defaultSpec(for: "my-app").notFound(CredentialID(app: "my-app", profile: "prod"))
                == "Error: API key is required. Run `keyway login my-app --profile prod` or set MY_APP_API_KEY.")
    }
}

@Suite struct BuiltInSpecTests {
    /// Built-ins are looked up by their key and decoded only when used: each key must be its spec's name, and every
    /// built-in must decode (a broken one would crash the first command that asks for it).
    @Test func keysAreNamesAndEverySpecDecodes() throws {
        #expect(
            AppCatalog.builtInJSON.map(\.key) == [
                "reflex", "reflow", "reactor", "reminix", "fluxloop", "gh", "openai", "anthropic", "huggingface", "npm",
                "pypi",
                "stripe", "gitlab", "doctl", "sentry",
            ])
        for (name, json) in AppCatalog.builtInJSON {
            #expect(try AppSpecDecoder.decode(Array(json.utf8), source: "built-in").name == name)
        }
    }

    /// A catalog without user files gives each built-in by name, and the default spec for any other app.
    @Test func lookupByName() throws {
        let catalog = try AppCatalog.load(configDirectory: "/nonexistent/keyway-config")
        #expect(catalog.entries.map(\.spec.name) == AppCatalog.builtInJSON.map(\.key))
        #expect(catalog.spec(for: "reflex").environmentVariables == ["REFLEX_API_KEY", "RFX_API_KEY"])
        #expect(catalog.entry(for: "reactor")?.origin == "built-in")
        #expect(catalog.entry(for: "other") == nil)
        #expect(catalog.spec(for: "other").environmentVariables == ["OTHER_API_KEY"])
    }
}
