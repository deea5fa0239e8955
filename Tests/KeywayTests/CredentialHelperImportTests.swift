import Foundation
import Keyway
import KeywayTestSupport
import Testing

/// `GitCredentialHelper.importExisting(remove:)` through the library: the file goes only as it was read.
@Suite struct CredentialHelperImportTests {
    /// A store that, as it stores, lets git's `credential.helper store` write a new line into the file (a git
    /// fetch between Keyway's read and its removal).
    struct ConcurrentGitStore: CredentialStore {
        let inner: PlaintextStore
        let gitCredentials: String
        var backendName: String { inner.backendName }
        var location: String { inner.location }
        func availability() -> Availability { inner.availability() }
        func read(_ id: CredentialID) throws(KeywayError) -> Credential? { try inner.read(id) }
        func write(_ credential: Credential) throws(KeywayError) {
            try inner.write(credential)
            let handle = FileHandle(forWritingAtPath: gitCredentials)!
            handle.seekToEndOfFile()
            handle.write(Data("https://new:pw-new@new.example\n".utf8))
            handle.closeFile()
        }
        func delete(_ id: CredentialID) throws(KeywayError) -> Bool { try inner.delete(id) }
        func list(app: String?) throws(KeywayError) -> [Credential] { try inner.list(app: app) }
    }

    @Test func aFileChangedWhileImportedIsKept() throws {
        let directory = try TemporaryDirectory()
        let file = directory.path + "/.git-credentials"
        FileManager.default.createFile(
            atPath: file, contents: Data("https://alice:pw-a@a.example\n".utf8), attributes: [.posixPermissions: 0o600])
        let store = ConcurrentGitStore(
            inner: PlaintextStore(path: directory.path + "/credentials.json"), gitCredentials: file)
        let report = try GitCredentialHelper(store: store).importExisting(gitCredentialsFile: file, remove: true)
        #expect(report.removalRefused?.code == .fileChanged && !report.fileRemoved, "\(report)")
        let kept = try String(contentsOfFile: file, encoding: .utf8)
        #expect(kept == "https://alice:pw-a@a.example\nhttps://new:pw-new@new.example\n", "the new line is kept")
        #expect(try store.read(CredentialID(app: GitCredentialHelper.app, profile: "https://alice@a.example")) != nil)
    }
}
