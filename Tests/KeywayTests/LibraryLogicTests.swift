import Keyway
import KeywayTestSupport
import Testing

/// A tool whose key lives in a JSON file (`<dir>/tool.json`) or in Keyway's store, read with a private environment.
struct Fixture {
    let directory: TemporaryDirectory
    let file: String
    let spec: AppSpec
    let environment: Environment
    let store: PlaintextStore

    init(environment extra: [String: String] = [:]) throws {
        directory = try TemporaryDirectory(prefix: "keyway-library")
        file = directory.path + "/tool.json"
        spec = AppSpec(
            name: "tool", environmentVariables: ["TOOL_API_KEY"],
            sources: [
                .json(AppSpec.FileLocation(path: file), AppSpec.FieldNames(key: "api_key", account: "account")),
                .store,
            ],
            expectedPrefixes: ["tl_"], notFoundMessage: "No key for {app}; ask the tool team.", rotateAfterDays: 7)
        environment = Environment(
            ["HOME": directory.path, "KEYWAY_CONFIG_DIR": directory.path + "/config"].merging(extra) { $1 })
        store = PlaintextStore(path: directory.path + "/config/credentials.json")
    }

    var engine: ResolutionEngine {
        ResolutionEngine(spec: spec, environment: environment, store: store, workingDirectory: directory.path)
    }

    var options: StoreOptions {
        get throws {
            var options = try StoreOptions(environment: environment, backend: "plaintext")
            options.warn = nil
            return options
        }
    }
}

@Suite struct ToolFileImportTests {
    /// Issue 12: import's file-only spec was rebuilt field by field and lost `not_found` and `rotate_after_days`
    /// (the default message and 90 days instead); `sourcesOnly` keeps every field but the variables.
    @Test func theFileOnlySpecKeepsEverythingButTheVariables() throws {
        let f = try Fixture(environment: ["TOOL_API_KEY": "tl_fromtheenvironment"])
        try writeFile(f.file, #"{"api_key": "tl_fromthefile0001", "account": "ci@acme.io"}"#, mode: 0o600)
        guard case .found(let found) = try ToolFileKey.find(profile: "default", engine: f.engine) else {
            Issue.record("the file's key was not found")
            return
        }
        #expect(found.key.secret.reveal() == "tl_fromthefile0001", "the file's key, never the environment's")
        #expect(found.path == f.file)
        var expected = f.spec
        expected.environmentVariables = []
        #expect(found.engine.spec == expected)
        #expect(found.engine.spec.rotateAfterDays == 7)
        #expect(found.engine.spec.notFound(found.id) == "Error: No key for tool; ask the tool team.")
        let twentyDaysAgo = Timestamp(secondsSinceEpoch: Timestamp.now().secondsSinceEpoch - 20 * 86_400)
        #expect(found.engine.expiryWarnings(expires: nil, created: twentyDaysAgo).map(\.code) == [.rotate])
    }

    @Test func copyStoresTheKeyWithWhatTheFileRecords() throws {
        let f = try Fixture()
        try writeFile(f.file, #"{"api_key": "tl_fromthefile0001", "account": "ci@acme.io"}"#, mode: 0o600)
        guard case .found(let found) = try ToolFileKey.find(profile: "default", engine: f.engine) else {
            Issue.record("the file's key was not found")
            return
        }
        guard case .imported(let credential) = try found.copy(into: f.store, warn: nil) else {
            Issue.record("not imported")
            return
        }
        let stored = try f.store.read(CredentialID(app: "tool"))
        #expect(stored == credential)
        #expect(stored?.secret.reveal() == "tl_fromthefile0001")
        #expect(stored?.account == "ci@acme.io")
        // Copying again is the same key: imported again. Another key in the store is never replaced.
        guard case .imported = try found.copy(into: f.store, warn: nil) else {
            Issue.record("the same key again was refused")
            return
        }
        try f.store.write(Credential(id: CredentialID(app: "tool"), secret: Secret("tl_anotherstoredkey1")))
        guard case .conflict(let existing) = try found.copy(into: f.store, warn: nil) else {
            Issue.record("a different stored key was replaced")
            return
        }
        #expect(existing.secret.reveal() == "tl_anotherstoredkey1")
        #expect(try f.store.read(CredentialID(app: "tool"))?.secret.reveal() == "tl_anotherstoredkey1")
    }

    @Test func noKeyInTheFilesNamesTheFilesLookedIn() throws {
        let f = try Fixture(environment: ["TOOL_API_KEY": "tl_fromtheenvironment"])
        guard case .notFound(let searched) = try ToolFileKey.find(profile: "default", engine: f.engine) else {
            Issue.record("found a key where the files hold none")
            return
        }
        #expect(searched == [f.file])
    }
}

@Suite struct LoginMergeTests {
    let id = CredentialID(app: "tool")
    let day = Day(parsing: "2030-01-31")!

    @Test func theSameKeyKeepsWhatWasRecordedUnlessGivenAnew() throws {
        let f = try Fixture()
        let first = Timestamp(secondsSinceEpoch: 1_000_000)
        try f.store.logIn(
            id, secret: Secret("tl_key0000000001"),
            details: LoginDetails(account: "a@acme.io", organization: "acme", scopes: ["read"], expires: day),
            now: first)
        let later = Timestamp(secondsSinceEpoch: 2_000_000)
        let again = try f.store.logIn(
            id, secret: Secret("tl_key0000000001"), details: LoginDetails(organization: "other"), now: later)
        #expect(again.created == first)
        #expect(again.updated == later)
        #expect(again.account == "a@acme.io")
        #expect(again.organization == "other")
        #expect(again.scopes == ["read"])
        #expect(again.expires == day)
        #expect(try f.store.read(id) == again)
        // Scopes given as an empty list clear them.
        let cleared = try f.store.logIn(id, secret: Secret("tl_key0000000001"), details: LoginDetails(scopes: []))
        #expect(cleared.scopes.isEmpty)
        #expect(cleared.account == "a@acme.io")
    }

    @Test func anotherKeyStartsAfresh() throws {
        let existing = Credential(
            id: id, secret: Secret("tl_key0000000001"), account: "a@acme.io", scopes: ["read"], expires: day,
            created: Timestamp(secondsSinceEpoch: 1_000_000))
        let now = Timestamp(secondsSinceEpoch: 2_000_000)
        let new = LoginDetails(organization: "acme").credential(
            id: id, secret: Secret("tl_key0000000002"), replacing: existing, now: now)
        #expect(new == Credential(id: id, secret: Secret("tl_key0000000002"), organization: "acme", created: now))
    }
}

@Suite struct StatusReportTests {
    @Test func theEnvironmentWinsAndTheStoredCopyIsShownNotInUse() throws {
        let f = try Fixture(environment: ["TOOL_API_KEY": "tl_fromtheenvironment"])
        try f.store.write(Credential(id: CredentialID(app: "tool"), secret: Secret("tl_storedkey000001")))
        let options = try f.options
        let report = try StatusReport(
            options: options, store: try openStore(options), specs: [f.spec], app: "tool",
            workingDirectory: f.directory.path)
        #expect(report.error == nil)
        #expect(
            report.credentials.map(\.masked) == [
                f.spec.masked(Secret("tl_fromtheenvironment")), f.spec.masked(Secret("tl_storedkey000001")),
            ])
        #expect(report.credentials.map(\.inUse) == [true, false])
        #expect(
            report.credentials.map(\.key.source) == [
                .environment("TOOL_API_KEY"), .store(backend: "plaintext", location: f.store.location),
            ])
        #expect(report.credentials[1].warnings.map(\.code) == [.environmentOverridesStore])
    }

    @Test func aFileThatCannotBeReadIsAnError() throws {
        let f = try Fixture()
        try writeFile(f.file, "{ not json", mode: 0o600)
        let options = try f.options
        let report = try StatusReport(
            options: options, store: try openStore(options), specs: [f.spec], app: "tool",
            workingDirectory: f.directory.path)
        #expect(report.error?.code == .malformedFile)
        #expect(report.credentials.isEmpty)
    }
}
