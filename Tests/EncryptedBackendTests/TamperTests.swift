import CKeywayPlatform
import CSodium
import KeywayCore
import KeywayTestSupport
import Testing

@testable import KeywayEncrypted

#if canImport(Glibc)
    import Glibc
#endif

/// The errors a damaged or foreign vault may produce.
let damageErrors: Set<KeywayError.Code> = [
    .notAVault, .unsupportedVersion, .vaultCostRefused, .vaultWrongKey, .vaultCorrupted, .vaultTruncated,
]

func sampleCredential(_ app: String, key: String) -> Credential {
    Credential(
        id: CredentialID(app: app), secret: Secret(key), account: "tamper@example.com",
        created: Timestamp(secondsSinceEpoch: 1_800_000_000))
}

/// A vault file's bytes with these credentials, under `unlock`.
func vaultBytes(
    _ credentials: [Credential], unlock: VaultUnlock, in directory: TemporaryDirectory, name: String = "v.vault"
) throws -> [UInt8] {
    let store = EncryptedStore(path: directory.path + "/" + name, unlock: unlock, newVaultCost: cheapCost)
    for credential in credentials { try store.write(credential) }
    return try #require(try readFile(store.location))
}

/// The code `bytes` is rejected with when opened with `unlock`, or nil when it opens.
func rejection(_ bytes: [UInt8], unlock: VaultUnlock = rawKeyUnlock) -> KeywayError? {
    do {
        _ = try EncryptedStore(path: "/nonexistent/test.vault", unlock: unlock).open(bytes)
        return nil
    } catch {
        return error
    }
}

@Suite struct TamperTests {
    @Test func everyBitFlipIsRejected() throws {
        let directory = try TemporaryDirectory()
        let secret = "tamper-secret-0123456789"
        let bytes = try vaultBytes([sampleCredential("tamperapp", key: secret)], unlock: rawKeyUnlock, in: directory)
        #expect(rejection(bytes) == nil, "the untouched vault opens")
        var counts: [KeywayError.Code: Int] = [:]
        for bit in 0..<(bytes.count * 8) {
            var flipped = bytes
            flipped[bit / 8] ^= UInt8(1) << UInt8(bit % 8)
            let error = rejection(flipped)
            let byte = bit / 8
            guard let error else {
                Issue.record("flipping bit \(bit) (byte \(byte)) went unnoticed")
                continue
            }
            counts[error.code, default: 0] += 1
            #expect(damageErrors.contains(error.code), "bit \(bit): unexpected error \(error.code): \(error.message)")
            #expect(!error.message.contains(secret) && !error.message.contains(testKeyBase64))
            // Where the flip lands decides which error is right.
            switch byte {
            case 0..<8: #expect(error.code == .notAVault, "bit \(bit) in the magic")
            case 8..<10:
                // Version 0 was never written by any Keyway: corruption; a higher one may be a newer Keyway's.
                let version = Int(flipped[8]) | Int(flipped[9]) << 8
                #expect(
                    error.code == (version == 0 ? .vaultCorrupted : .unsupportedVersion), "bit \(bit) in the version")
            case 10..<12: #expect(error.code == .unsupportedVersion, "bit \(bit) in the method or cipher id")
            case 12..<44: #expect(error.code == .vaultCorrupted, "bit \(bit) in raw-key KDF fields")
            case 44..<76: #expect(error.code == .vaultWrongKey, "bit \(bit) in the key check")
            case 76..<100: #expect(error.code == .vaultCorrupted, "bit \(bit) in the nonce")
            case 100..<108:
                #expect([.vaultTruncated, .vaultCorrupted].contains(error.code), "bit \(bit) in the length")
            default: #expect(error.code == .vaultCorrupted, "bit \(bit) in the ciphertext")
            }
        }
        #expect(counts.values.reduce(0, +) == bytes.count * 8)
    }

    @Test func everyTruncationIsRejected() throws {
        let directory = try TemporaryDirectory()
        let bytes = try vaultBytes(
            [sampleCredential("cutapp", key: "cut-secret-0123456789")], unlock: rawKeyUnlock, in: directory)
        for length in 0..<bytes.count {
            let error = rejection(Array(bytes[0..<length]))
            #expect(error?.code == .vaultTruncated, "cut at \(length) of \(bytes.count): \(String(describing: error))")
        }
        let longer = rejection(bytes + [0])
        #expect(longer?.code == .vaultCorrupted, "a byte appended")
    }

    @Test func bodySplicedOntoAnotherHeaderIsRejected() throws {
        let directory = try TemporaryDirectory()
        let a = try vaultBytes(
            [sampleCredential("alpha", key: "secret-aaaa-0000")], unlock: rawKeyUnlock, in: directory, name: "a")
        let b = try vaultBytes(
            [sampleCredential("bravo", key: "secret-bbbb-1111")], unlock: rawKeyUnlock, in: directory, name: "b")
        #expect(a.count == b.count, "same-length bodies, so only authentication can catch the splice")
        let spliced = Array(a[0..<VaultHeader.size] + b[VaultHeader.size...])
        #expect(rejection(spliced)?.code == .vaultCorrupted)
        // Onto a passphrase vault's header (same-length body): the key no longer matches the header.
        let passphrase = unlock(["KEYWAY_PASSPHRASE": "splice passphrase"])
        let c = try vaultBytes(
            [sampleCredential("charl", key: "secret-cccc-2222")], unlock: passphrase, in: directory, name: "c")
        let spliced2 = Array(c[0..<VaultHeader.size] + b[VaultHeader.size...])
        #expect(rejection(spliced2, unlock: passphrase)?.code == .vaultCorrupted)
        #expect(rejection(spliced2)?.code == .vaultWrongMethod)
    }

    @Test func wrongKeyAndWrongPassphraseAreTheirOwnError() throws {
        let directory = try TemporaryDirectory()
        let raw = try vaultBytes(
            [sampleCredential("k", key: "secret-k-123456")], unlock: rawKeyUnlock, in: directory, name: "r")
        let otherKey = unlock(["KEYWAY_VAULT_KEY": "//////////////////////////////////////////8="])
        let error = rejection(raw, unlock: otherKey)
        #expect(error?.code == .vaultWrongKey)
        #expect(error?.message.contains("Wrong key") == true)
        let right = unlock(["KEYWAY_PASSPHRASE": "right passphrase"])
        let pass = try vaultBytes(
            [sampleCredential("p", key: "secret-p-123456")], unlock: right, in: directory, name: "p")
        let wrong = rejection(pass, unlock: unlock(["KEYWAY_PASSPHRASE": "wrong passphrase"]))
        #expect(wrong?.code == .vaultWrongKey)
        #expect(wrong?.message.contains("Wrong passphrase") == true)
        #expect(wrong?.message.contains("wrong passphrase") == false, "the passphrase itself is not printed")
    }

    @Test func costAboveTheCapIsRefusedBeforeAnyKeyDerivation() throws {
        let directory = try TemporaryDirectory()
        let right = unlock(["KEYWAY_PASSPHRASE": "right passphrase"])
        let bytes = try vaultBytes([sampleCredential("c", key: "secret-c-123456")], unlock: right, in: directory)
        // No passphrase source but a prompt that fails the test if asked: refusal must come before unlocking.
        let prompt = PassphrasePrompt { _ throws(KeywayError) in
            Issue.record("the passphrase was asked for")
            return Array("right passphrase".utf8)
        }
        for (ops, mem) in [
            (UInt64(11), UInt64(8 << 20)), (1, (1 << 30) + 1), (1, 4 << 30), (.max, .max), (0, 8 << 20), (1, 1024),
        ] {
            var crafted = bytes
            crafted.replaceSubrange(12..<20, with: VaultHeader.littleEndian(ops, count: 8))
            crafted.replaceSubrange(20..<28, with: VaultHeader.littleEndian(mem, count: 8))
            let error = rejection(crafted, unlock: unlock([:], prompt: prompt))
            #expect(error?.code == .vaultCostRefused, "opslimit \(ops), memlimit \(mem)")
        }
        #expect(throws: KeywayError.self) { try Argon2Cost(opslimit: 3, memlimit: 2 << 30) }
        #expect(Argon2Cost.moderate.opslimit == UInt64(crypto_pwhash_opslimit_moderate()))
        #expect(Argon2Cost.moderate.memlimit == UInt64(crypto_pwhash_memlimit_moderate()))
        #expect(Argon2Cost.sensitive.memlimit == UInt64(crypto_pwhash_memlimit_sensitive()))
        #expect(Argon2Cost.minimum.memlimit == UInt64(crypto_pwhash_memlimit_min()))
        #expect(EncryptedStore(path: "/x", unlock: right).newVaultCost == .moderate, "default cost is MODERATE")
    }

    @Test func vaultNeverHoldsNamesOrSecretsInClear() throws {
        let directory = try TemporaryDirectory()
        let secret = "sk_live_GREPPABLE_SECRET_0123456789"
        var credential = sampleCredential("greppable-app-name", key: secret)
        credential.account = "greppable-account@example.com"
        credential.organization = "Greppable Organization"
        for (name, access) in [("raw", rawKeyUnlock), ("pass", unlock(["KEYWAY_PASSPHRASE": "greppable-passphrase"]))] {
            let bytes = try vaultBytes([credential], unlock: access, in: directory, name: name)
            for needle in [
                secret, "greppable", "GREPPABLE", "example.com", "Organization", "keyway-credentials", "api_key",
            ] {
                let pattern = Array(needle.utf8)
                let found =
                    bytes.count >= pattern.count
                    && (0...(bytes.count - pattern.count)).contains {
                        Array(bytes[$0..<($0 + pattern.count)]) == pattern
                    }
                #expect(!found, "\(name) vault contains \(needle) in clear")
            }
        }
    }

    @Test func everySaveUsesAFreshNonce() throws {
        let directory = try TemporaryDirectory()
        let store = EncryptedStore(path: directory.path + "/n.vault", unlock: rawKeyUnlock)
        let credential = sampleCredential("nonce", key: "same-secret-every-time")
        var nonces = Set<[UInt8]>()
        var bodies = Set<[UInt8]>()
        for _ in 0..<20 {
            try store.write(credential)
            let bytes = try #require(try readFile(store.location))
            nonces.insert(Array(bytes[VaultHeader.nonceRange]))
            bodies.insert(Array(bytes[VaultHeader.size...]))
        }
        #expect(nonces.count == 20 && bodies.count == 20)
    }

    @Test func coreDumpsAreOffOnceAVaultIsOpen() throws {
        let directory = try TemporaryDirectory()
        let store = EncryptedStore(path: directory.path + "/d.vault", unlock: rawKeyUnlock)
        try store.write(sampleCredential("dump", key: "dump-secret-123456"))
        _ = try store.list()
        var limit = rlimit()
        #expect(getrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &limit) == 0)
        #expect(limit.rlim_cur == 0, "the soft limit is 0")
        #expect(limit.rlim_max == CoreDumps.limitAtStart.rlim_max, "the hard limit is left as it was")
        #expect(keyway_is_dumpable() == 0)
    }
}
