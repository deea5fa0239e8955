import KeywayCore
import KeywayTestSupport
import KeywayTesting
import Testing

@testable import KeywayEncrypted

/// A known raw key for tests: bytes 0, 1, ..., 31.
let testKey: [UInt8] = Array(0..<32)
let testKeyBase64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

/// An unlock configuration with only these variables.
func unlock(_ variables: [String: String], prompt: PassphrasePrompt? = nil) -> VaultUnlock {
    VaultUnlock(environment: Environment(variables), prompt: prompt)
}

let rawKeyUnlock = unlock(["KEYWAY_VAULT_KEY": testKeyBase64])
/// A cheap cost inside the accepted range, so passphrase tests stay fast.
let cheapCost = try! Argon2Cost(opslimit: 1, memlimit: 8 << 20)

@Suite struct EncryptedConformanceTests {
    @Test func conformanceWithRawKey() throws {
        let directory = try TemporaryDirectory()
        let counter = Counter()
        try StoreConformance(
            makeStore: {
                EncryptedStore(path: directory.path + "/store-\(counter.next())/v.vault", unlock: rawKeyUnlock)
            },
            makeBroken: {
                let path = directory.path + "/broken-\(counter.next()).vault"
                let store = EncryptedStore(path: path, unlock: rawKeyUnlock)
                try store.create(.unlockSource)
                var bytes = try #require(try readFile(path))
                bytes[bytes.count - 1] ^= 0x01
                try writeFile(path, bytes, mode: 0o600)
                return EncryptedStore(path: path, unlock: rawKeyUnlock)
            }
        ).run()
    }

    @Test func conformanceWithPassphrase() throws {
        let directory = try TemporaryDirectory()
        let counter = Counter()
        let passphrase = unlock(["KEYWAY_PASSPHRASE": "correct horse battery staple"])
        try StoreConformance(
            makeStore: {
                EncryptedStore(
                    path: directory.path + "/store-\(counter.next())/v.vault", unlock: passphrase,
                    newVaultCost: cheapCost)
            },
            makeBroken: {
                let path = directory.path + "/broken-\(counter.next()).vault"
                let store = EncryptedStore(path: path, unlock: passphrase, newVaultCost: cheapCost)
                try store.create(.unlockSource)
                return EncryptedStore(path: path, unlock: unlock(["KEYWAY_PASSPHRASE": "wrong passphrase"]))
            }
        ).run()
    }
}
