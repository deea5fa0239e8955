import CSodium
import KeywayCore
import KeywayEncrypted

/// The vault's unlock key: the raw key of the test vectors (Tests/EncryptedBackendTests/Vectors, bytes 00 01 ... 1f),
/// so the committed raw-key vector opens and decrypts all the way.
let vaultKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

/// One store for the whole run, so the keys are derived once (EncryptedStore caches them per header parameters).
enum VaultHarness {
    nonisolated(unsafe) static var store: EncryptedStore!
    nonisolated(unsafe) static var path = ""

    static func setUp() {
        path = Scratch.directory + "/vault"
        store = EncryptedStore(
            path: path, unlock: VaultUnlock(environment: Environment(["KEYWAY_VAULT_KEY": vaultKey])))
    }

    /// Reads `file` through the store as `keyway list` does, and checks `keyway get`'s read of the entries `ids` (and
    /// of every entry of a document that decrypted, up to 4) against it.
    @discardableResult
    static func read(_ file: [UInt8], availability: Bool, ids: [CredentialID]) -> Result<
        CredentialDocument, KeywayError
    > {
        _ = Scratch.write("vault", file)
        if availability { _ = store.availability() }
        let document = Result<CredentialDocument, KeywayError> { () throws(KeywayError) in try store.loadDocument() }
        var ids = ids
        if case .success(let d) = document { ids += d.credentials.prefix(4).map(\.id) }
        for id in ids {
            let fast = Result<Credential?, KeywayError> { () throws(KeywayError) in try store.loadCredential(id) }
            CredentialsFuzz.check(fast, CredentialsFuzz.usable(document, id), id)
        }
        return document
    }
}

/// The whole vault file, as read from disk: header parse (magic, version, method, cipher, Argon2id cost, lengths),
/// key check, decryption and, for a file that decrypts, the credentials decoders. Passphrase vaults are parsed but not
/// opened (the store holds a raw key, so they stop at the method check, before any Argon2id run).
enum VaultFileFuzz {
    static let target = FuzzTarget(
        name: "vault", about: "vault files: header, key check, decryption, body", setUp: VaultHarness.setUp, run: run)

    static func run(_ bytes: [UInt8]) {
        VaultHarness.read(bytes, availability: true, ids: [])
    }
}

/// The vault body: the input is the plaintext, sealed as a valid raw-key vault (header from a vault the store itself
/// created, ciphertext length and tag for this input), then read back through the store, so every input reaches the
/// decoders of the decrypted payload (read from libsodium's guarded memory). Full decoder and fast path must agree.
enum VaultBodyFuzz {
    static let target = FuzzTarget(
        name: "vault-body", about: "vault payloads: decrypted bytes through both decoders", setUp: setUp, run: run)

    /// Bytes 0..<100 of a vault the store created: magic through nonce, with a valid key check.
    nonisolated(unsafe) static var headerPrefix: [UInt8] = []
    nonisolated(unsafe) static var cipherKey = [UInt8](repeating: 0, count: 32)

    static func setUp() {
        VaultHarness.setUp()
        do throws(KeywayError) {
            try VaultHarness.store.create(.unlockSource)
            guard let file = try ProtectedFile(path: VaultHarness.path).read(), file.count >= 108 else {
                fail("the store wrote no vault")
            }
            headerPrefix = Array(file[0..<100])
        } catch {
            fail("cannot create the seed vault: \(error)")
        }
        // Subkey 1 of the master key, context "KWVAULT1": the cipher key (see VaultFormat.swift).
        guard sodium_init() >= 0 else { fail("sodium_init failed") }
        var master = [UInt8](repeating: 0, count: 32)
        let decoded = vaultKey.withCString { text in
            sodium_base642bin(
                &master, 32, text, vaultKey.utf8.count, nil, nil, nil, Int32(sodium_base64_VARIANT_ORIGINAL))
        }
        let derived = "KWVAULT1".withCString { context in crypto_kdf_derive_from_key(&cipherKey, 32, 1, context, master)
        }
        guard decoded == 0, derived == 0 else { fail("cannot derive the cipher key") }
        // The harness must produce vaults the store opens, or every input would stop at the tag check.
        let empty = Array(CredentialDocument().serialized())
        guard case .success(let document) = VaultHarness.read(seal(empty), availability: true, ids: []),
            document == CredentialDocument()
        else {
            fail("the harness's sealed vault does not open; VaultFormat changed?")
        }
    }

    /// A vault file holding `payload` under the fixed key and nonce.
    static func seal(_ payload: [UInt8]) -> [UInt8] {
        var header = headerPrefix
        let length = UInt64(payload.count + 16)
        for i in 0..<8 { header.append(UInt8(truncatingIfNeeded: length >> (8 * UInt64(i)))) }
        var sealed = [UInt8](repeating: 0, count: payload.count + 16)
        var written: UInt64 = 0
        let nonce = Array(header[76..<100])
        let status = crypto_aead_xchacha20poly1305_ietf_encrypt(
            &sealed, &written, payload, UInt64(payload.count), header, UInt64(header.count), nil, nonce, cipherKey)
        guard status == 0 else { fail("crypto_aead_xchacha20poly1305_ietf_encrypt failed") }
        return header + sealed
    }

    static func run(_ bytes: [UInt8]) {
        let document = VaultHarness.read(seal(bytes), availability: false, ids: [CredentialID(app: "x", profile: "p")])
        // What decrypted is exactly what a plaintext store would have decoded.
        let plain = Result<CredentialDocument, KeywayError> { () throws(KeywayError) in
            try CredentialDocument(parsing: bytes, source: VaultHarness.path)
        }
        switch (document, plain) {
        case (.success(let a), .success(let b)) where a == b: break
        case (.failure(let a), .failure(let b)) where a == b: break
        default: fatalError("the vault decodes its payload differently from the plaintext decoder")
        }
    }
}
