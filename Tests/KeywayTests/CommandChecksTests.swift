import Glibc
import Keyway
import KeywayTestSupport
import Testing

/// `Fixture` (LibraryLogicTests.swift) with `KEYWAY_BACKEND=plaintext`: `keyway get` without `--backend` reads the
/// plaintext store, and nothing else is consulted.
private func plaintextFixture(environment extra: [String: String] = [:]) throws -> Fixture {
    try Fixture(environment: ["KEYWAY_BACKEND": "plaintext"].merging(extra) { $1 })
}

extension Fixture {
    func found() throws -> ToolFileKey {
        guard case .found(let found) = try ToolFileKey.find(profile: "default", engine: engine) else {
            throw GitFixture.Failure(description: "the file's key was not found")
        }
        return found
    }

    var fileExists: Bool { access(file, F_OK) == 0 }
}

private func code(_ body: () throws(KeywayError) -> Void) -> KeywayError.Code? {
    do throws(KeywayError) { try body() } catch { return error.code }
    return nil
}

/// Issue 12: `keyway import --remove`'s safe removal is library API (`fileState` / `removeFile`).
@Suite struct ToolFileRemovalTests {
    @Test func aFileOfNothingButTheStoredKeyIsRemoved() throws {
        let s = try plaintextFixture()
        try writeFile(s.file, #"{"api_key": "tl_fromthefile0001", "account": "ci@acme.io"}"#, mode: 0o600)
        let found = try s.found()
        let state = try found.fileState(strict: false)
        guard case .imported = try found.copy(into: s.store, warn: nil) else {
            Issue.record("not imported")
            return
        }
        try found.removeFile(state, storedIn: s.store)
        #expect(!s.fileExists)
        #expect(try s.store.read(CredentialID(app: "tool"))?.secret.reveal() == "tl_fromthefile0001")
    }

    @Test func aFileChangedSinceTheReadIsKept() throws {
        let s = try plaintextFixture()
        try writeFile(s.file, #"{"api_key": "tl_fromthefile0001"}"#, mode: 0o600)
        let found = try s.found()
        let state = try found.fileState(strict: false)
        _ = try found.copy(into: s.store, warn: nil)
        try writeFile(s.file, #"{"api_key": "tl_anewkeywritten02"}"#, mode: 0o600)
        #expect(code { () throws(KeywayError) in try found.removeFile(state, storedIn: s.store) } == .fileChanged)
        #expect(s.fileExists)
    }

    @Test func aFileWithSomethingElseInItIsKept() throws {
        let s = try plaintextFixture()
        try writeFile(s.file, #"{"api_key": "tl_fromthefile0001", "region": "eu"}"#, mode: 0o600)
        let found = try s.found()
        let state = try found.fileState(strict: false)
        _ = try found.copy(into: s.store, warn: nil)
        #expect(code { () throws(KeywayError) in try found.removeFile(state, storedIn: s.store) } == .invalidInput)
        #expect(s.fileExists)
    }

    @Test func aKeyNotInTheStoreKeepsTheFile() throws {
        let s = try plaintextFixture()
        try writeFile(s.file, #"{"api_key": "tl_fromthefile0001"}"#, mode: 0o600)
        let found = try s.found()
        let state = try found.fileState(strict: false)
        // Not copied: the store does not hold the key, so the file is not "nothing but stored keys".
        #expect(code { () throws(KeywayError) in try found.removeFile(state, storedIn: s.store) } == .invalidInput)
        #expect(s.fileExists)
    }

    @Test func aSymbolicLinkIsNeverRemoved() throws {
        let s = try plaintextFixture()
        let target = s.directory.path + "/real.json"
        try writeFile(target, #"{"api_key": "tl_fromthefile0001"}"#, mode: 0o600)
        #expect(symlink(target, s.file) == 0)
        let found = try s.found()
        let state = try found.fileState(strict: false)
        _ = try found.copy(into: s.store, warn: nil)
        #expect(code { () throws(KeywayError) in try found.removeFile(state, storedIn: s.store) } == .unsafeFile)
        #expect(s.fileExists)
        #expect(access(target, F_OK) == 0)
    }
}

/// Issue 12: login's and logout's warning when another layer or backend wins over the store.
@Suite struct StoreOverrideWarningTests {
    @Test func noWarningWhenTheStoresKeyIsInUse() throws {
        let s = try plaintextFixture()
        let secret = Secret("tl_storedkey000001")
        try s.store.logIn(CredentialID(app: "tool"), secret: secret)
        let warning = storeOverrideWarning(
            for: CredentialID(app: "tool"), spec: s.spec, store: s.store, stored: secret, options: try s.options,
            workingDirectory: s.directory.path)
        #expect(warning == nil)
    }

    @Test func theEnvironmentWinsOverTheKeyJustStored() throws {
        let s = try plaintextFixture(environment: ["TOOL_API_KEY": "tl_fromtheenvironment"])
        let secret = Secret("tl_storedkey000001")
        try s.store.logIn(CredentialID(app: "tool"), secret: secret)
        let warning = storeOverrideWarning(
            for: CredentialID(app: "tool"), spec: s.spec, store: s.store, stored: secret, options: try s.options,
            workingDirectory: s.directory.path)
        #expect(warning?.code == .environmentOverridesStore)
        #expect(warning?.message.contains("unset TOOL_API_KEY") == true)
        #expect(warning?.message.contains("tl_fromtheenvironment") == false, "never the key")
    }

    @Test func theToolsFileStillHoldsAKeyAfterALogout() throws {
        let s = try plaintextFixture()
        try writeFile(s.file, #"{"api_key": "tl_fromthefile0001"}"#, mode: 0o600)
        let warning = storeOverrideWarning(
            for: CredentialID(app: "tool"), spec: s.spec, store: s.store, stored: nil, options: try s.options,
            workingDirectory: s.directory.path)
        #expect(warning?.code == .fileOverridesStore)
        #expect(warning?.message.hasPrefix("keyway get tool still returns a key for tool") == true)
        #expect(KeywayWarning.Code.fileOverridesStore.rawValue == "file-overrides-store")
        #expect(KeywayWarning.Code.otherBackendOverridesStore.rawValue == "other-backend-overrides-store")
    }
}

@Suite struct CommandChecksTests {
    @Test func theProfileIsTheFlagThenKeywayProfileThenDefault() {
        let set = Environment(["KEYWAY_PROFILE": "work"])
        #expect(CredentialID.profile(from: set) == "work")
        #expect(CredentialID.profile(from: set, given: "ci") == "ci")
        #expect(CredentialID.profile(from: Environment(["KEYWAY_PROFILE": ""])) == "default")
        #expect(CredentialID.explicitProfile(from: Environment([:])) == nil)
        #expect(CredentialID.explicitProfile(from: set) == "work")
    }

    @Test func aNameCloseToAKnownAppIsWarnedAbout() throws {
        let s = try plaintextFixture()
        let catalog = try AppCatalog.load(configDirectory: s.directory.path + "/config")
        let known = try #require(catalog.entries.first?.spec.name)
        #expect(catalog.unknownAppWarning(for: known) == nil)
        let warning = catalog.unknownAppWarning(for: known.uppercased())
        #expect(warning?.code == .unknownApp)
        #expect(KeywayWarning.Code.unknownApp.rawValue == "unknown-app")
    }

    @Test func aStoreFileInAGitWorkTreeIsWarnedAbout() throws {
        let s = try plaintextFixture()
        let repository = s.directory.path + "/repo"
        try GitFixture.initialize(repository)
        let store = PlaintextStore(path: repository + "/credentials.json")
        try store.write(Credential(id: CredentialID(app: "tool"), secret: Secret("tl_storedkey000001")))
        let environment = Environment(GitFixture.plainEnvironment.merging(["HOME": s.directory.path]) { $1 })
        let warning = store.gitLeakWarning(environment: environment, workingDirectory: repository)
        #expect(warning != nil)
        // KEYWAY_NO_GIT_WARNING silences it.
        var quiet = environment
        quiet.values["KEYWAY_NO_GIT_WARNING"] = "1"
        #expect(store.gitLeakWarning(environment: quiet, workingDirectory: repository) == nil)
    }

    @Test func aStartedToolGetsTheKeyButNoUnlockMaterial() {
        let environment = Environment([
            "PATH": "/usr/bin", "KEYWAY_VAULT_KEY": "a2V5", "KEYWAY_VAULT_KEY_FILE": "/k", "KEYWAY_PASSPHRASE": "p",
            "KEYWAY_NEW_PASSPHRASE": "n", "TOOL_API_KEY": "tl_old",
        ])
        let child = childEnvironment(environment, variable: "TOOL_API_KEY", key: Secret("tl_storedkey000001"))
        #expect(child == ["PATH": "/usr/bin", "TOOL_API_KEY": "tl_storedkey000001"])
        #expect(
            Set(childWithheldVariables)
                == [
                    "KEYWAY_VAULT_KEY", "KEYWAY_VAULT_KEY_FILE", "KEYWAY_PASSPHRASE", "KEYWAY_NEW_PASSPHRASE",
                    "BAO_TOKEN", "VAULT_TOKEN", "KEYWAY_OPENBAO_ROLE_ID_FILE", "KEYWAY_OPENBAO_SECRET_ID_FILE",
                    "KEYWAY_OPENBAO_CACHE_KEY_FILE",
                ])
    }

    @Test func aCostBelowModerateIsWarnedAbout() {
        #expect(Argon2Cost.minimum.weaknessWarning?.code == .weakKeyDerivation)
        #expect(KeywayWarning.Code.weakKeyDerivation.rawValue == "weak-key-derivation")
        #expect(Argon2Cost.moderate.weaknessWarning == nil)
        #expect(Argon2Cost.sensitive.weaknessWarning == nil)
    }

    @Test func aStoreThatCannotBeReadFailsTheLeakCheck() throws {
        let s = try plaintextFixture()
        #expect(mkdir(s.directory.path + "/config", 0o700) == 0)
        try writeFile(s.directory.path + "/config/credentials.json", "not json", mode: 0o600)
        let stored = storedSecretsForLeakCheck(try s.options)
        var report = LeakReport()
        report.errors = ["the scan's own error"]
        report.notes = ["the scan's own note"]
        stored.record(in: &report)
        #expect(report.errors.count == 2)
        #expect(report.errors.first?.hasPrefix("Cannot read the plaintext store") == true)
        #expect(report.errors.last == "the scan's own error")
        #expect(report.notes.last == "the scan's own note")
        #expect(report.notes.count == stored.notes.count + 1)
        #expect(report.exitStatus == 2)
    }
}
