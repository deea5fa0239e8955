import KeywayCore
import KeywayTestSupport
import Testing

@testable import KeywayEncrypted

/// Fixed test vectors under `Vectors/`: vaults written by format version 1 that every later Keyway must still open
/// (or reject with the recorded error). `manifest.json` lists each file, how to unlock it and what it must give.
///
/// The files are reproducible: `writerReproducesTheVectors` rebuilds them from fixed salts and nonces and checks they
/// are byte-identical, so a change to the writer that alters the format fails here. To regenerate after a deliberate
/// format change (a new version, never a silent change of version 1), run the tests with KEYWAY_WRITE_VECTORS=1.
@Suite struct VectorTests {
    static let directory = ProtectedFile.directoryName(#filePath) + "/Vectors"
    static let passphrase = "correct horse battery staple"

    /// The document both good vectors hold.
    static let document = CredentialDocument(credentials: [
        Credential(
            id: CredentialID(app: "reflex"), secret: Secret("rfx_vector_key_0123456789abcdef"),
            account: "vector@example.com", organization: "Vector Org", scopes: ["read", "write"],
            expires: Day(year: 2030, month: 1, day: 31), created: Timestamp(secondsSinceEpoch: 1_790_000_000),
            updated: Timestamp(secondsSinceEpoch: 1_790_000_100)),
        Credential(
            id: CredentialID(app: "flux", profile: "prod"), secret: Secret("flux_prod_ключ_🔑"),
            created: Timestamp(secondsSinceEpoch: 1_790_000_200)),
    ])

    static func sealed(method: VaultMethod) throws -> [UInt8] {
        let master: SecureBytes
        var cost: Argon2Cost?
        var salt = [UInt8](repeating: 0, count: 16)
        switch method {
        case .rawKey:
            master = try SecureBytes(copying: testKey)
        case .passphrase:
            cost = try Argon2Cost(opslimit: 1, memlimit: 8 << 20)
            salt = (0..<16).map { UInt8(0xA0 + $0) }
            master = try Sodium.argon2id(
                passphrase: try SecureBytes(copying: Array(passphrase.utf8)), salt: salt[...], opslimit: 1,
                memlimit: 8 << 20)
        }
        let keys = try VaultKeys(master: master, method: method, cost: cost, salt: salt)
        let nonce = (0..<24).map { UInt8($0) &* 7 &+ method.rawValue }
        return try VaultCodec.seal(document.serialized(), keys: keys, nonce: nonce)
    }

    /// Every vector file, rebuilt.
    static func files() throws -> [(name: String, bytes: [UInt8])] {
        let raw = try sealed(method: .rawKey)
        let pass = try sealed(method: .passphrase)
        func edited(_ bytes: [UInt8], _ change: (inout [UInt8]) -> Void) -> [UInt8] {
            var copy = bytes
            change(&copy)
            return copy
        }
        return [
            ("raw-key.vault", raw),
            ("passphrase.vault", pass),
            ("contents.json", document.serialized()),
            (
                "not-a-vault.vault",
                Array("{\"format\": \"keyway-credentials\", \"version\": 1, \"credentials\": []}\n".utf8)
            ),
            ("version-2.vault", edited(raw) { $0[8] = 2 }),
            (
                "cost-refused.vault",
                edited(pass) { $0.replaceSubrange(20..<28, with: VaultHeader.littleEndian(4 << 30, count: 8)) }
            ),
            ("corrupted-body.vault", edited(raw) { $0[$0.count - 20] ^= 0x40 }),
            ("corrupted-nonce.vault", edited(pass) { $0[80] ^= 0x01 }),
            ("salt-altered.vault", edited(pass) { $0[30] ^= 0x01 }),
            ("trailing-bytes.vault", raw + [0x0A]),
            ("truncated.vault", Array(raw[0..<(raw.count - 1)])),
            ("truncated-header.vault", Array(raw[0..<50])),
        ]
    }

    @Test func writerReproducesTheVectors() throws {
        let files = try Self.files()
        if Environment.process().flag("KEYWAY_WRITE_VECTORS") {
            for file in files { try writeFile(Self.directory + "/" + file.name, file.bytes, mode: 0o644) }
        }
        for file in files {
            let committed = try readFile(Self.directory + "/" + file.name)
            #expect(committed == file.bytes, "Vectors/\(file.name) is what this version writes")
        }
    }

    @Test func vectorsOpenOrFailAsRecorded() throws {
        let manifestBytes = try #require(try readFile(Self.directory + "/manifest.json"))
        let manifest = try JSON.parse(manifestBytes)
        guard case .array(let entries) = try #require(manifest["vectors"]) else {
            Issue.record("manifest.json has no vectors array")
            return
        }
        #expect(entries.count == 14)
        let expected = try CredentialDocument(
            parsing: try #require(try readFile(Self.directory + "/contents.json")), source: "contents.json")
        #expect(expected == Self.document)
        for entry in entries {
            let name = try #require(entry["file"]?.stringValue)
            var variables: [String: String] = [:]
            if case .object(let members) = try #require(entry["unlock"]) {
                for (key, value) in members { variables[key] = value.stringValue }
            }
            let bytes = try #require(try readFile(Self.directory + "/" + name), "Vectors/\(name) exists")
            let store = EncryptedStore(path: Self.directory + "/" + name, unlock: unlock(variables))
            if let error = entry["error"]?.stringValue {
                #expect(
                    throws: KeywayError.self, "Vectors/\(name) with \(variables.keys.sorted()) fails with \(error)",
                    performing: { _ = try store.open(bytes) })
                #expect(rejection(bytes, unlock: unlock(variables))?.code.rawValue == error, "Vectors/\(name)")
            } else {
                #expect(try store.open(bytes).document == expected, "Vectors/\(name) opens to contents.json")
            }
        }
    }
}
