import KeywayCore
import KeywayTestSupport
import Synchronization
import Testing

@testable import KeywayEncrypted

#if canImport(Glibc)
    import Glibc
#endif

/// A prompt that answers from a list and counts how often it was asked.
final class ScriptedPrompt: Sendable {
    private struct State {
        var answers: [String]
        var asked: [String] = []
    }
    private let state: Mutex<State>
    init(_ answers: [String]) { state = Mutex(State(answers: answers)) }
    var asked: [String] { state.withLock { $0.asked } }
    var prompt: PassphrasePrompt {
        PassphrasePrompt { [self] message throws(KeywayError) in
            let answer = state.withLock { state -> String? in
                state.asked.append(message)
                return state.answers.isEmpty ? nil : state.answers.removeFirst()
            }
            guard let answer else { throw KeywayError(.invalidInput, "no more scripted answers") }
            return Array(answer.utf8)
        }
    }
}

@Suite struct UnlockTests {
    @Test func noSourceNamesAllFour() throws {
        let directory = try TemporaryDirectory()
        let store = EncryptedStore(path: directory.path + "/v.vault", unlock: unlock([:]))
        #expect(throws: KeywayError.self) { try store.write(sampleCredential("a", key: "secret-123456")) }
        do {
            try store.write(sampleCredential("a", key: "secret-123456"))
        } catch {
            #expect(error.code == .vaultLocked)
            for name in ["KEYWAY_VAULT_KEY_FILE", "KEYWAY_VAULT_KEY", "KEYWAY_PASSPHRASE", "terminal"] {
                #expect(error.message.contains(name), "names \(name)")
            }
        }
        guard case .unavailable(let reason) = store.availability() else {
            Issue.record("available without a key")
            return
        }
        #expect(reason.contains("KEYWAY_VAULT_KEY_FILE"))
        #expect(EncryptedStore(path: directory.path + "/v.vault", unlock: rawKeyUnlock).availability() == .available)
    }

    @Test func firstSourceFoundWinsWithoutFallback() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/v.vault"
        try EncryptedStore(path: path, unlock: rawKeyUnlock).write(sampleCredential("a", key: "secret-123456"))
        // A missing key file comes first: it is an error even though KEYWAY_VAULT_KEY would open the vault.
        let both = unlock(["KEYWAY_VAULT_KEY_FILE": directory.path + "/missing.key", "KEYWAY_VAULT_KEY": testKeyBase64])
        #expect(throws: KeywayError.self) { _ = try EncryptedStore(path: path, unlock: both).list() }
        // A raw-key vault with a passphrase first: the method error, even with a prompt available.
        let prompt = ScriptedPrompt(["anything"])
        let passphraseFirst = unlock(["KEYWAY_PASSPHRASE": "x"], prompt: prompt.prompt)
        do {
            _ = try EncryptedStore(path: path, unlock: passphraseFirst).list()
            Issue.record("opened a key vault with a passphrase")
        } catch {
            #expect(error.code == .vaultWrongMethod)
        }
        // A passphrase vault with a key in the environment: the method error, never the passphrase variable after it.
        let passPath = directory.path + "/p.vault"
        let passphrase = unlock(["KEYWAY_PASSPHRASE": "the passphrase"])
        try EncryptedStore(path: passPath, unlock: passphrase, newVaultCost: cheapCost).write(
            sampleCredential("p", key: "secret-p-123"))
        let keyFirst = unlock(["KEYWAY_VAULT_KEY": testKeyBase64, "KEYWAY_PASSPHRASE": "the passphrase"])
        #expect(throws: KeywayError.self) { _ = try EncryptedStore(path: passPath, unlock: keyFirst).list() }
        #expect(prompt.asked.isEmpty, "the prompt is never a fallback")
    }

    @Test func keyFileChecks() throws {
        let directory = try TemporaryDirectory()
        let vault = directory.path + "/v.vault"
        let key = directory.path + "/good.key"
        try writeFile(key, testKey, mode: 0o600)
        let store = EncryptedStore(path: vault, unlock: unlock(["KEYWAY_VAULT_KEY_FILE": key]))
        try store.write(sampleCredential("a", key: "secret-123456"))
        #expect(try EncryptedStore(path: vault, unlock: rawKeyUnlock).list().count == 1, "the file key is the same key")
        func code(_ path: String) -> KeywayError.Code? {
            do {
                _ = try EncryptedStore(path: vault, unlock: unlock(["KEYWAY_VAULT_KEY_FILE": path])).list()
                return nil
            } catch { return error.code }
        }
        try writeFile(directory.path + "/group.key", testKey, mode: 0o640)
        #expect(code(directory.path + "/group.key") == .insecurePermissions)
        try writeFile(directory.path + "/other.key", testKey, mode: 0o604)
        #expect(code(directory.path + "/other.key") == .insecurePermissions)
        try writeFile(directory.path + "/short.key", Array(testKey[0..<31]), mode: 0o600)
        #expect(code(directory.path + "/short.key") == .invalidInput)
        try writeFile(directory.path + "/long.key", testKey + [0x0A], mode: 0o600)
        #expect(code(directory.path + "/long.key") == .invalidInput)
        #expect(code(directory.path + "/missing.key") == .invalidInput)
        mkdir(directory.path + "/dir.key", 0o700)
        #expect(code(directory.path + "/dir.key") == .unsafeFile)
        symlink(key, directory.path + "/link.key")
        #expect(code(directory.path + "/link.key") == nil, "a link to a good key file is followed")
        #expect(code(key) == nil)
    }

    @Test func promptIsAskedTwiceForANewVaultAndOnceForAReadThenWrite() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/v.vault"
        let mismatch = ScriptedPrompt(["first passphrase", "second passphrase"])
        #expect(throws: KeywayError.self) {
            try EncryptedStore(path: path, unlock: unlock([:], prompt: mismatch.prompt), newVaultCost: cheapCost)
                .write(sampleCredential("a", key: "secret-123456"))
        }
        #expect(try readFile(path) == nil, "nothing written when the passphrases differ")
        let empty = ScriptedPrompt(["", ""])
        #expect(throws: KeywayError.self) {
            try EncryptedStore(path: path, unlock: unlock([:], prompt: empty.prompt), newVaultCost: cheapCost)
                .write(sampleCredential("a", key: "secret-123456"))
        }
        let good = ScriptedPrompt(["typed passphrase", "typed passphrase"])
        try EncryptedStore(path: path, unlock: unlock([:], prompt: good.prompt), newVaultCost: cheapCost)
            .write(sampleCredential("a", key: "secret-123456"))
        #expect(good.asked.count == 2)
        let later = ScriptedPrompt(["typed passphrase"])
        let store = EncryptedStore(path: path, unlock: unlock([:], prompt: later.prompt))
        #expect(try store.read(CredentialID(app: "a"))?.secret.reveal() == "secret-123456")
        try store.write(sampleCredential("b", key: "secret-b-123456"))
        #expect(later.asked.count == 1, "the derived key is reused for the write")
        #expect(
            try EncryptedStore(path: path, unlock: unlock(["KEYWAY_PASSPHRASE": "typed passphrase"])).list().count == 2)
    }

    @Test func createRefusesAnExistingVault() throws {
        let directory = try TemporaryDirectory()
        let store = EncryptedStore(path: directory.path + "/v.vault", unlock: rawKeyUnlock)
        #expect(try store.create(.unlockSource) == .rawKey)
        try store.write(sampleCredential("a", key: "secret-123456"))
        let before = try readFile(store.location)
        #expect(throws: KeywayError.self) { try store.create(.unlockSource) }
        #expect(throws: KeywayError.self) { try store.create(.generatedKeyFile(directory.path + "/new.key")) }
        #expect(try readFile(store.location) == before)
        #expect(try readFile(directory.path + "/new.key") == nil, "no key file left behind")
    }

    @Test func createWithAGeneratedKeyFile() throws {
        let directory = try TemporaryDirectory()
        let keyFile = directory.path + "/keys/new.key"
        let store = EncryptedStore(path: directory.path + "/v.vault", unlock: unlock([:]))
        try store.create(.generatedKeyFile(keyFile))
        #expect(try permissions(keyFile) == 0o600)
        #expect(try permissions(store.location) == 0o600)
        #expect(try readFile(keyFile)?.count == 32)
        #expect(try readFile(keyFile) != testKey)
        let opened = EncryptedStore(path: store.location, unlock: unlock(["KEYWAY_VAULT_KEY_FILE": keyFile]))
        #expect(try opened.list().isEmpty)
        // An existing file is never overwritten by a generated key.
        try writeFile(directory.path + "/taken.key", "keep me", mode: 0o600)
        #expect(throws: KeywayError.self) {
            try EncryptedStore(path: directory.path + "/w.vault", unlock: unlock([:]))
                .create(.generatedKeyFile(directory.path + "/taken.key"))
        }
        #expect(try readFile(directory.path + "/taken.key") == Array("keep me".utf8))
        #expect(try readFile(directory.path + "/w.vault") == nil)
    }

    @Test func rekeyKeepsContentsAndSwitchesKeys() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/v.vault"
        let oldPass = unlock(["KEYWAY_PASSPHRASE": "old passphrase"])
        let store = EncryptedStore(path: path, unlock: oldPass, newVaultCost: cheapCost)
        for i in 0..<5 { try store.write(sampleCredential("app\(i)", key: "secret-\(i)-abcdef")) }
        let contents = try store.list()
        // Passphrase to passphrase.
        try store.rekey(to: .passphrase("new passphrase", prompt: nil))
        let newPass = unlock(["KEYWAY_PASSPHRASE": "new passphrase"])
        #expect(try EncryptedStore(path: path, unlock: newPass).list() == contents)
        #expect(throws: KeywayError.self) { _ = try EncryptedStore(path: path, unlock: oldPass).list() }
        // Passphrase to a generated key file.
        let keyFile = directory.path + "/rekeyed.key"
        try EncryptedStore(path: path, unlock: newPass, newVaultCost: cheapCost).rekey(to: .generatedKeyFile(keyFile))
        #expect(try EncryptedStore(path: path, unlock: unlock(["KEYWAY_VAULT_KEY_FILE": keyFile])).list() == contents)
        #expect(try readFile(path).map { Array($0[10..<11]) } == [VaultMethod.rawKey.rawValue])
        // Key back to a passphrase asked at the prompt.
        let prompt = ScriptedPrompt(["prompted passphrase", "prompted passphrase"])
        try EncryptedStore(
            path: path, unlock: unlock(["KEYWAY_VAULT_KEY_FILE": keyFile], prompt: prompt.prompt),
            newVaultCost: cheapCost
        )
        .rekey(to: .passphrase(nil, prompt: prompt.prompt))
        #expect(
            try EncryptedStore(path: path, unlock: unlock(["KEYWAY_PASSPHRASE": "prompted passphrase"])).list()
                == contents)
    }

    @Test func failedRekeyLeavesTheOldFileIntact() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/v.vault"
        let store = EncryptedStore(path: path, unlock: rawKeyUnlock)
        try store.write(sampleCredential("a", key: "secret-123456"))
        let before = try readFile(path)
        // The new key file cannot be created (its directory would be under a regular file).
        try writeFile(directory.path + "/plain", "x", mode: 0o600)
        #expect(throws: KeywayError.self) { try store.rekey(to: .generatedKeyFile(directory.path + "/plain/new.key")) }
        #expect(try readFile(path) == before)
        // The current key is wrong: nothing changes and the new key file is not left behind.
        let wrong = EncryptedStore(
            path: path, unlock: unlock(["KEYWAY_VAULT_KEY": "//////////////////////////////////////////8="]))
        #expect(throws: KeywayError.self) { try wrong.rekey(to: .generatedKeyFile(directory.path + "/new.key")) }
        #expect(try readFile(path) == before)
        #expect(try readFile(directory.path + "/new.key") == nil)
        // The new passphrases differ.
        let prompt = ScriptedPrompt(["one", "two"])
        #expect(throws: KeywayError.self) { try store.rekey(to: .passphrase(nil, prompt: prompt.prompt)) }
        #expect(try readFile(path) == before)
        // The directory cannot take the new file: the vault stays as it was.
        chmod(directory.path, 0o500)
        defer { chmod(directory.path, 0o700) }
        if geteuid() != 0 {
            #expect(throws: KeywayError.self) { try store.rekey(to: .passphrase("new passphrase", prompt: nil)) }
            #expect(try readFile(path) == before)
        }
        #expect(try EncryptedStore(path: path, unlock: rawKeyUnlock).list().count == 1)
    }
}
