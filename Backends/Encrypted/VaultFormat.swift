import KeywayCore

// The vault file, format version 1. Integers are little-endian. The whole 108-byte header is the AEAD's associated
// data, so no header byte can change without the tag failing.
//
//   offset  size  field
//        0     8  magic: 0x89 "KWVAULT"
//        8     2  format version: 1
//       10     1  unlock method / KDF: 1 = raw 32-byte key (no KDF), 2 = passphrase through Argon2id v1.3
//       11     1  cipher: 1 = XChaCha20-Poly1305 (IETF)
//       12     8  Argon2id opslimit (0 for a raw key)
//       20     8  Argon2id memlimit in bytes (0 for a raw key)
//       28    16  Argon2id salt (zeros for a raw key)
//       44    32  key check: BLAKE2b-256 of bytes 0..<44, keyed with subkey 2 of the master key
//       76    24  nonce, fresh from the system's random source on every save
//      100     8  ciphertext length in bytes (payload length + 16)
//      108     n  ciphertext: the CredentialDocument JSON sealed with subkey 1, followed by the 16-byte tag
//
// The master key is the raw key, or Argon2id(passphrase, salt, opslimit, memlimit) (32 bytes). Subkeys come from
// crypto_kdf_derive_from_key(master, id, context "KWVAULT1"): 1 for the cipher, 2 for the key check. The key check
// tells a wrong key or passphrase apart from a modified file: it matches only for the right key.

extension KeywayError.Code {
    /// The file is not a Keyway vault (wrong magic bytes).
    public static let notAVault = KeywayError.Code(rawValue: "not-a-vault")
    /// The vault's Argon2id cost parameters are outside the accepted range; no key derivation was attempted.
    public static let vaultCostRefused = KeywayError.Code(rawValue: "vault-cost-refused")
    /// The key or passphrase does not open the vault.
    public static let vaultWrongKey = KeywayError.Code(rawValue: "vault-wrong-key")
    /// The vault was changed or damaged after it was written.
    public static let vaultCorrupted = KeywayError.Code(rawValue: "vault-corrupted")
    /// The vault file ends before its declared end.
    public static let vaultTruncated = KeywayError.Code(rawValue: "vault-truncated")
    /// The vault was created for a key and a passphrase was given, or the other way round.
    public static let vaultWrongMethod = KeywayError.Code(rawValue: "vault-wrong-method")
    /// No key or passphrase was supplied in any of the supported ways.
    public static let vaultLocked = KeywayError.Code(rawValue: "vault-locked")
}

/// How a vault is unlocked, as recorded in its header.
public enum VaultMethod: UInt8, Sendable, CustomStringConvertible {
    /// A random 32-byte key (from `KEYWAY_VAULT_KEY_FILE` or `KEYWAY_VAULT_KEY`).
    case rawKey = 1
    /// A passphrase stretched with Argon2id (from `KEYWAY_PASSPHRASE` or the prompt).
    case passphrase = 2

    public var description: String {
        switch self {
        case .rawKey: return "a key (KEYWAY_VAULT_KEY_FILE or KEYWAY_VAULT_KEY)"
        case .passphrase: return "a passphrase (KEYWAY_PASSPHRASE or the prompt)"
        }
    }
}

/// Argon2id cost parameters (libsodium's Argon2id always uses one lane).
public struct Argon2Cost: Sendable, Equatable, CustomStringConvertible {
    public let opslimit: UInt64
    /// Bytes.
    public let memlimit: UInt64

    /// libsodium's `crypto_pwhash_OPSLIMIT_MODERATE` / `MEMLIMIT_MODERATE`: 3 passes over 256 MiB. The default.
    public static let moderate = Argon2Cost(unchecked: 3, 256 << 20)
    /// libsodium's `crypto_pwhash_OPSLIMIT_SENSITIVE` / `MEMLIMIT_SENSITIVE`: 4 passes over 1 GiB.
    public static let sensitive = Argon2Cost(unchecked: 4, 1 << 30)
    /// The lowest cost accepted: libsodium's minimum for Argon2id (1 pass, 8 KiB).
    public static let minimum = Argon2Cost(unchecked: 1, 8 << 10)
    /// The cap: a vault asking for more than 10 passes or more than 1 GiB is refused before any key derivation, so a
    /// crafted file cannot make Keyway allocate more than 1 GiB or spin for more than seconds.
    public static let maximum = Argon2Cost(unchecked: 10, 1 << 30)

    init(unchecked opslimit: UInt64, _ memlimit: UInt64) {
        self.opslimit = opslimit
        self.memlimit = memlimit
    }

    /// A cost inside the accepted range (`minimum` to `maximum`); anything else is refused.
    public init(opslimit: UInt64, memlimit: UInt64) throws(KeywayError) {
        guard Self.accepts(opslimit: opslimit, memlimit: memlimit) else {
            throw KeywayError(.vaultCostRefused, "Argon2id cost \(Self.text(opslimit, memlimit)) is \(Self.rangeText).")
        }
        self.init(unchecked: opslimit, memlimit)
    }

    static func accepts(opslimit: UInt64, memlimit: UInt64) -> Bool {
        (minimum.opslimit...maximum.opslimit).contains(opslimit)
            && (minimum.memlimit...maximum.memlimit).contains(memlimit)
    }

    static let rangeText =
        "outside the accepted range (opslimit 1 to 10, memlimit 8 KiB to 1 GiB)"

    static func text(_ opslimit: UInt64, _ memlimit: UInt64) -> String {
        let memory = memlimit % (1 << 20) == 0 ? "\(memlimit >> 20) MiB" : "\(memlimit) bytes"
        return "opslimit \(opslimit), memlimit \(memory)"
    }

    /// Below libsodium's MODERATE cost.
    public var isBelowModerate: Bool { isLower(than: Self.moderate) }

    /// Fewer passes or less memory than `other`: cheaper to attack in at least one respect.
    public func isLower(than other: Argon2Cost) -> Bool { opslimit < other.opslimit || memlimit < other.memlimit }

    public var description: String { Self.text(opslimit, memlimit) }
}

/// The Argon2id cost a re-keyed passphrase vault gets: each value given here, else the vault's current one (for a
/// vault opened with a key, which has none, the store's `newVaultCost`).
public struct Argon2Change: Sendable, Equatable {
    public var opslimit: UInt64?
    /// Bytes.
    public var memlimit: UInt64?

    public init(opslimit: UInt64? = nil, memlimit: UInt64? = nil) {
        self.opslimit = opslimit
        self.memlimit = memlimit
    }

    /// The current cost, unchanged.
    public static let keep = Argon2Change()

    /// The cost with these changes applied to `base`, refused outside the accepted range.
    public func applied(to base: Argon2Cost) throws(KeywayError) -> Argon2Cost {
        try Argon2Cost(opslimit: opslimit ?? base.opslimit, memlimit: memlimit ?? base.memlimit)
    }
}

extension KeywayWarning.Code {
    /// A re-key gives the vault a lower Argon2id cost (fewer passes or less memory) than it had.
    public static let argon2CostLowered = KeywayWarning.Code(rawValue: "kdf-cost-lowered")
}

/// The parsed, checked header of a vault file. Parsing checks everything that can be checked without a key, in an
/// order that reports the most specific problem: magic, version, method and cipher, cost (before any KDF), lengths.
struct VaultHeader: Equatable {
    static let magic: [UInt8] = [0x89, 0x4B, 0x57, 0x56, 0x41, 0x55, 0x4C, 0x54]  // 0x89 "KWVAULT"
    static let version: UInt16 = 1
    static let cipherXChaCha20Poly1305: UInt8 = 1
    static let size = 108
    /// The bytes covered by the key check: magic through salt.
    static let checkedPrefix = 44
    static let checkRange = 44..<76
    static let nonceRange = 76..<100

    var method: VaultMethod
    /// Nil for a raw-key vault.
    var cost: Argon2Cost?
    var salt: [UInt8]
    var check: [UInt8]
    var nonce: [UInt8]
    var ciphertextLength: UInt64

    /// The header bytes.
    func encoded() -> [UInt8] {
        var bytes = Self.magic
        bytes += Self.littleEndian(UInt64(Self.version), count: 2)
        bytes.append(method.rawValue)
        bytes.append(Self.cipherXChaCha20Poly1305)
        bytes += Self.littleEndian(cost?.opslimit ?? 0, count: 8)
        bytes += Self.littleEndian(cost?.memlimit ?? 0, count: 8)
        bytes += salt
        bytes += check
        bytes += nonce
        bytes += Self.littleEndian(ciphertextLength, count: 8)
        return bytes
    }

    /// Magic through salt: the bytes the key check covers.
    func checkedBytes() -> ArraySlice<UInt8> { encoded()[0..<Self.checkedPrefix] }

    static func littleEndian(_ value: UInt64, count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }

    static func readLittleEndian(_ bytes: [UInt8], _ range: Range<Int>) -> UInt64 {
        var value: UInt64 = 0
        for index in range.reversed() { value = value << 8 | UInt64(bytes[index]) }
        return value
    }

}

extension VaultHeader {
    /// Parses and checks the header of `bytes` (a whole vault file), and that the file is exactly as long as the header
    /// says. `source` names the file in errors.
    init(parsing bytes: [UInt8], source: String) throws(KeywayError) {
        func truncated(_ detail: String) -> KeywayError {
            KeywayError(
                .vaultTruncated,
                "\(source) is truncated (\(detail)): it is not a whole Keyway vault. It was left untouched; restore it "
                    + "from a backup.", path: source)
        }
        func corrupted(_ detail: String) -> KeywayError {
            KeywayError(
                .vaultCorrupted,
                "\(source) is corrupted or was modified (\(detail)). It was left untouched; restore it from a backup.",
                path: source)
        }
        func unsupported(_ detail: String) -> KeywayError {
            KeywayError(
                .unsupportedVersion,
                "\(source) \(detail), which this Keyway does not support; it may have been written by a newer Keyway. "
                    + "It was left untouched.", path: source)
        }
        if bytes.count < Self.magic.count {
            if Array(Self.magic.prefix(bytes.count)) == bytes {
                throw truncated(bytes.isEmpty ? "it is empty" : "\(bytes.count) bytes, shorter than the vault header")
            }
            throw KeywayError(
                .notAVault, "\(source) is not a Keyway vault (it does not start with the vault's magic bytes).",
                path: source)
        }
        guard Array(bytes[0..<Self.magic.count]) == Self.magic else {
            throw KeywayError(
                .notAVault, "\(source) is not a Keyway vault (it does not start with the vault's magic bytes).",
                path: source)
        }
        guard bytes.count >= 10 else { throw truncated("\(bytes.count) bytes, shorter than the vault header") }
        let version = Self.readLittleEndian(bytes, 8..<10)
        if version < UInt64(Self.version) {
            // Version 1 is the first: a lower number was never written by any Keyway.
            throw corrupted("vault format version \(version) does not exist; this Keyway reads version \(Self.version)")
        }
        guard version == UInt64(Self.version) else {
            throw unsupported("has vault format version \(version) (this Keyway reads version \(Self.version))")
        }
        guard bytes.count >= Self.size else {
            throw truncated("\(bytes.count) bytes, shorter than the \(Self.size)-byte vault header")
        }
        guard let method = VaultMethod(rawValue: bytes[10]) else {
            throw unsupported("uses unlock method \(bytes[10])")
        }
        guard bytes[11] == Self.cipherXChaCha20Poly1305 else { throw unsupported("uses cipher \(bytes[11])") }
        let opslimit = Self.readLittleEndian(bytes, 12..<20)
        let memlimit = Self.readLittleEndian(bytes, 20..<28)
        let salt = Array(bytes[28..<44])
        switch method {
        case .rawKey:
            guard opslimit == 0, memlimit == 0, salt.allSatisfy({ $0 == 0 }) else {
                throw corrupted("a vault for a raw key carries passphrase parameters")
            }
            cost = nil
        case .passphrase:
            guard Argon2Cost.accepts(opslimit: opslimit, memlimit: memlimit) else {
                throw KeywayError(
                    .vaultCostRefused,
                    "\(source) asks for Argon2id cost \(Argon2Cost.text(opslimit, memlimit)), \(Argon2Cost.rangeText); "
                        + "Keyway refuses it without trying to derive a key. It was left untouched.", path: source)
            }
            cost = Argon2Cost(unchecked: opslimit, memlimit)
        }
        self.method = method
        self.salt = salt
        check = Array(bytes[Self.checkRange])
        nonce = Array(bytes[Self.nonceRange])
        // The declared length is any 64-bit value a file may carry: it is only ever compared with the number of
        // bytes actually read (never added to, never used to allocate), so no value can overflow or over-allocate.
        ciphertextLength = Self.readLittleEndian(bytes, 100..<108)
        let available = UInt64(bytes.count - Self.size)
        guard ciphertextLength >= UInt64(Sodium.tagBytes) else {
            throw corrupted("declared ciphertext length \(ciphertextLength) is too short")
        }
        guard ciphertextLength <= available else {
            throw truncated(
                "\(bytes.count) bytes; the header declares \(ciphertextLength) bytes of ciphertext after its "
                    + "\(Self.size) bytes, \(available) are there")
        }
        guard ciphertextLength == available else {
            throw corrupted("\(available - ciphertextLength) bytes follow the declared end")
        }
    }

}

/// The keys of one vault: derived once from the master key, used for every save under the same header parameters.
final class VaultKeys: Sendable {
    static let context = "KWVAULT1"
    let method: VaultMethod
    let cost: Argon2Cost?
    let salt: [UInt8]
    let cipherKey: SecureBytes
    /// The key-check value for these parameters.
    let check: [UInt8]

    /// Derives the keys from `master` for a header with these parameters.
    init(master: SecureBytes, method: VaultMethod, cost: Argon2Cost?, salt: [UInt8]) throws(SodiumFailure) {
        self.method = method
        self.cost = cost
        self.salt = salt
        cipherKey = try Sodium.deriveSubkey(from: master, id: 1, context: Self.context)
        let checkKey = try Sodium.deriveSubkey(from: master, id: 2, context: Self.context)
        let prefix = VaultHeader(
            method: method, cost: cost, salt: salt, check: [UInt8](repeating: 0, count: 32),
            nonce: [UInt8](repeating: 0, count: Sodium.nonceBytes), ciphertextLength: 0
        ).checkedBytes()
        check = try Sodium.keyedHash(prefix, key: checkKey)
    }

    /// Whether these keys were derived for the parameters in `header`.
    func matchesParameters(of header: VaultHeader) -> Bool {
        header.method == method && header.cost == cost && header.salt == salt
    }
}

/// Sealing and opening whole vault files.
enum VaultCodec {
    /// A vault file holding `payload` (which the caller wipes), under `keys`, with a fresh random nonce (or `nonce`,
    /// for reproducible test vectors only).
    static func seal(_ payload: [UInt8], keys: VaultKeys, nonce: [UInt8]? = nil) throws(SodiumFailure) -> [UInt8] {
        let freshNonce: [UInt8]
        if let nonce { freshNonce = nonce } else { freshNonce = try Sodium.publicRandom(Sodium.nonceBytes) }
        let header = VaultHeader(
            method: keys.method, cost: keys.cost, salt: keys.salt, check: keys.check, nonce: freshNonce,
            ciphertextLength: UInt64(payload.count + Sodium.tagBytes))
        let headerBytes = header.encoded()
        let sealed = try Sodium.seal(payload, associatedData: headerBytes, nonce: freshNonce, key: keys.cipherKey)
        return headerBytes + sealed
    }

    /// The payload of a vault whose header was parsed from `bytes`, in protected memory.
    static func open(_ bytes: [UInt8], header: VaultHeader, keys: VaultKeys, source: String) throws(KeywayError)
        -> SecureBytes
    {
        guard Sodium.constantTimeEquals(bytes[VaultHeader.checkRange], keys.check) else {
            throw KeywayError(
                .vaultWrongKey,
                "Wrong \(header.method == .rawKey ? "key" : "passphrase") for \(source) (or its key parameters were "
                    + "altered). Nothing was decrypted.", path: source)
        }
        let opened: SecureBytes?
        do throws(SodiumFailure) {
            opened = try Sodium.open(
                bytes[VaultHeader.size...], associatedData: bytes[0..<VaultHeader.size],
                nonce: bytes[VaultHeader.nonceRange], key: keys.cipherKey)
        } catch {
            throw KeywayError(.io, "Cannot decrypt \(source): \(error.operation) failed.", path: source)
        }
        guard let opened else {
            throw KeywayError(
                .vaultCorrupted,
                "\(source) is corrupted or was modified (the key is right but the authentication tag does not match). "
                    + "It was left untouched; restore it from a backup.", path: source)
        }
        return opened
    }
}
