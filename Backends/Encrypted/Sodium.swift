internal import CSodium
import Glibc
import KeywayCore

// The only file that touches libsodium. Every pointer handed to it comes from a buffer owned here, every return code is
// checked at the call and turned into a `SodiumFailure`, and every secret lives in a `SecureBytes` (sodium_malloc'ed,
// wiped and freed on deinit). Callers above this file see Swift values only.

/// A libsodium call that failed, by name. Carries no data from the buffers involved.
struct SodiumFailure: Error, Equatable {
    let operation: String
}

/// Secret bytes in memory from `sodium_malloc`: guard pages around them, `mlock`ed where the system allows, and wiped by
/// `sodium_free` when the last reference goes. The contents are reachable only through the closures below.
final class SecureBytes: @unchecked Sendable {
    // @unchecked: the buffer is written only during initialization (before the value is shared) and read afterwards.
    private let pointer: UnsafeMutableRawPointer
    let count: Int

    /// `count` zero bytes.
    init(count: Int) throws(SodiumFailure) {
        try Sodium.initialize()
        // sodium_malloc(0) returns a valid pointer too; keep one byte so the pointer is never special-cased.
        guard let pointer = sodium_malloc(max(count, 1)) else { throw SodiumFailure(operation: "sodium_malloc") }
        sodium_memzero(pointer, max(count, 1))
        self.pointer = pointer
        self.count = count
    }

    /// `count` random bytes.
    static func random(count: Int) throws(SodiumFailure) -> SecureBytes {
        let bytes = try SecureBytes(count: count)
        randombytes_buf(bytes.pointer, count)
        return bytes
    }

    /// A copy of `source`, which the caller wipes (see `Sodium.wipe`).
    convenience init(copying source: [UInt8]) throws(SodiumFailure) {
        try self.init(count: source.count)
        source.withUnsafeBytes { raw in
            if let base = raw.baseAddress { pointer.copyMemory(from: base, byteCount: raw.count) }
        }
    }

    /// Fills the buffer through `body`, which gets the whole buffer (a decoder that may write fewer bytes decodes into
    /// a buffer of the largest size and copies into one of the exact size: `decodeBase64`). Used only right after
    /// `init(count:)`.
    fileprivate func fill(_ body: (UnsafeMutableRawBufferPointer) throws(SodiumFailure) -> Void) throws(SodiumFailure) {
        try body(UnsafeMutableRawBufferPointer(start: pointer, count: count))
    }

    fileprivate func withBytes<T>(_ body: (UnsafeRawBufferPointer) throws(SodiumFailure) -> T) throws(SodiumFailure)
        -> T
    {
        try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// Reads a file of exactly `count` bytes from `fd` straight into protected memory (no intermediate buffer).
    /// Returns nil when the file holds a different number of bytes; `size` then says how many it holds (at least).
    static func read(from fd: Int32, count: Int) throws(KeywayError) -> (bytes: SecureBytes?, size: Int) {
        let buffer: SecureBytes
        do throws(SodiumFailure) { buffer = try SecureBytes(count: count + 1) } catch {
            throw KeywayError(.io, "Cannot allocate protected memory (\(error.operation) failed).")
        }
        var filled = 0
        while filled < count + 1 {
            let n = Glibc.read(fd, buffer.pointer + filled, count + 1 - filled)
            if n < 0 {
                if errno == EINTR { continue }
                throw KeywayError(.io, "Cannot read the key file: \(Errno.current).")
            }
            if n == 0 { break }
            filled += n
        }
        guard filled == count else { return (nil, filled) }
        let exact: SecureBytes
        do throws(SodiumFailure) { exact = try SecureBytes(count: count) } catch {
            throw KeywayError(.io, "Cannot allocate protected memory (\(error.operation) failed).")
        }
        exact.pointer.copyMemory(from: buffer.pointer, byteCount: count)
        return (exact, count)
    }

    /// Compares in constant time (for equal lengths).
    func constantTimeEquals(_ other: SecureBytes) -> Bool {
        count == other.count && sodium_memcmp(pointer, other.pointer, count) == 0
    }

    /// A copy as an ordinary array, for the one place a secret must leave protected memory (writing a key file). The
    /// caller wipes it with `Sodium.wipe` as soon as it is written.
    func exposedCopy() -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    deinit { sodium_free(pointer) }
}

enum Sodium {
    /// XChaCha20-Poly1305 (IETF) sizes.
    static let keyBytes = Int(crypto_aead_xchacha20poly1305_ietf_KEYBYTES)
    static let nonceBytes = Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
    static let tagBytes = Int(crypto_aead_xchacha20poly1305_ietf_ABYTES)
    /// Argon2id salt size.
    static let saltBytes = Int(crypto_pwhash_SALTBYTES)
    static let argon2id13 = Int32(crypto_pwhash_ALG_ARGON2ID13)

    private static let initialization: Int32 = sodium_init()

    /// `sodium_init()`, once per process (0: first call, 1: already done, -1: failure).
    static func initialize() throws(SodiumFailure) {
        guard initialization >= 0 else { throw SodiumFailure(operation: "sodium_init") }
    }

    /// Fresh random bytes (not secret: nonces and salts).
    static func publicRandom(_ count: Int) throws(SodiumFailure) -> [UInt8] {
        try initialize()
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, $0.count) }
        return bytes
    }

    /// Overwrites an array's storage with zeros in a way the compiler cannot drop. The array must not share storage
    /// with another (it is written in place, not copied).
    static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { raw in
            if let base = raw.baseAddress { sodium_memzero(base, raw.count) }
        }
    }

    /// Seals `plaintext` with XChaCha20-Poly1305 under `key`, authenticating `associatedData` too. Returns ciphertext
    /// followed by the 16-byte tag.
    static func seal(
        _ plaintext: [UInt8], associatedData: [UInt8], nonce: [UInt8], key: SecureBytes
    ) throws(SodiumFailure) -> [UInt8] {
        guard key.count == keyBytes, nonce.count == nonceBytes else { throw SodiumFailure(operation: "seal (sizes)") }
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + tagBytes)
        var written: UInt64 = 0
        let status = try key.withBytes { k throws(SodiumFailure) in
            ciphertext.withUnsafeMutableBytes { c in
                plaintext.withUnsafeBytes { m in
                    associatedData.withUnsafeBytes { ad in
                        nonce.withUnsafeBytes { n in
                            crypto_aead_xchacha20poly1305_ietf_encrypt(
                                c.bindMemory(to: UInt8.self).baseAddress!, &written,
                                m.bindMemory(to: UInt8.self).baseAddress, UInt64(m.count),
                                ad.bindMemory(to: UInt8.self).baseAddress, UInt64(ad.count), nil,
                                n.bindMemory(to: UInt8.self).baseAddress!, k.bindMemory(to: UInt8.self).baseAddress!)
                        }
                    }
                }
            }
        }
        guard status == 0, written == UInt64(ciphertext.count) else {
            throw SodiumFailure(operation: "crypto_aead_xchacha20poly1305_ietf_encrypt")
        }
        return ciphertext
    }

    /// Opens what `seal` produced into protected memory; nil when the tag does not verify (wrong key, or ciphertext,
    /// nonce or associated data changed).
    static func open(
        _ ciphertext: ArraySlice<UInt8>, associatedData: ArraySlice<UInt8>, nonce: ArraySlice<UInt8>, key: SecureBytes
    ) throws(SodiumFailure) -> SecureBytes? {
        guard key.count == keyBytes, nonce.count == nonceBytes, ciphertext.count >= tagBytes else {
            throw SodiumFailure(operation: "open (sizes)")
        }
        let plaintext = try SecureBytes(count: ciphertext.count - tagBytes)
        var written: UInt64 = 0
        var status: Int32 = -1
        try plaintext.fill { m throws(SodiumFailure) in
            status = try key.withBytes { k throws(SodiumFailure) in
                ciphertext.withUnsafeBytes { c in
                    associatedData.withUnsafeBytes { ad in
                        nonce.withUnsafeBytes { n in
                            crypto_aead_xchacha20poly1305_ietf_decrypt(
                                m.bindMemory(to: UInt8.self).baseAddress!, &written, nil,
                                c.bindMemory(to: UInt8.self).baseAddress!, UInt64(c.count),
                                ad.bindMemory(to: UInt8.self).baseAddress, UInt64(ad.count),
                                n.bindMemory(to: UInt8.self).baseAddress!, k.bindMemory(to: UInt8.self).baseAddress!)
                        }
                    }
                }
            }
        }
        guard status == 0 else { return nil }
        guard written == UInt64(plaintext.count) else {
            throw SodiumFailure(operation: "crypto_aead_xchacha20poly1305_ietf_decrypt (length)")
        }
        return plaintext
    }

    /// Argon2id13 (`crypto_pwhash`) of `passphrase` into a 32-byte key. The caller has checked the cost parameters.
    static func argon2id(
        passphrase: SecureBytes, salt: ArraySlice<UInt8>, opslimit: UInt64, memlimit: UInt64
    ) throws(SodiumFailure) -> SecureBytes {
        guard salt.count == saltBytes, let memory = Int(exactly: memlimit) else {
            throw SodiumFailure(operation: "crypto_pwhash (parameters)")
        }
        let key = try SecureBytes(count: keyBytes)
        try key.fill { out throws(SodiumFailure) in
            let status = try passphrase.withBytes { p throws(SodiumFailure) in
                salt.withUnsafeBytes { s in
                    crypto_pwhash(
                        out.bindMemory(to: UInt8.self).baseAddress!, UInt64(out.count),
                        p.bindMemory(to: CChar.self).baseAddress!, UInt64(passphrase.count),
                        s.bindMemory(to: UInt8.self).baseAddress!, opslimit, memory, argon2id13)
                }
            }
            // Fails only when out of memory or on parameters outside libsodium's limits.
            guard status == 0 else { throw SodiumFailure(operation: "crypto_pwhash") }
        }
        return key
    }

    /// A 32-byte subkey of a 32-byte master key (`crypto_kdf_derive_from_key`, BLAKE2b), for an 8-character context.
    static func deriveSubkey(from master: SecureBytes, id: UInt64, context: String) throws(SodiumFailure) -> SecureBytes
    {
        var contextBytes = Array(context.utf8)
        guard master.count == Int(crypto_kdf_KEYBYTES), contextBytes.count == Int(crypto_kdf_CONTEXTBYTES) else {
            throw SodiumFailure(operation: "crypto_kdf_derive_from_key (sizes)")
        }
        contextBytes.append(0)
        let subkey = try SecureBytes(count: keyBytes)
        try subkey.fill { out throws(SodiumFailure) in
            let status = try master.withBytes { k throws(SodiumFailure) in
                contextBytes.withUnsafeBytes { ctx in
                    crypto_kdf_derive_from_key(
                        out.bindMemory(to: UInt8.self).baseAddress!, out.count, id,
                        ctx.bindMemory(to: CChar.self).baseAddress!, k.bindMemory(to: UInt8.self).baseAddress!)
                }
            }
            guard status == 0 else { throw SodiumFailure(operation: "crypto_kdf_derive_from_key") }
        }
        return subkey
    }

    /// BLAKE2b-256 of `message` keyed with `key` (`crypto_generichash`).
    static func keyedHash(_ message: ArraySlice<UInt8>, key: SecureBytes) throws(SodiumFailure) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        let status = try key.withBytes { k throws(SodiumFailure) in
            out.withUnsafeMutableBytes { o in
                message.withUnsafeBytes { m in
                    crypto_generichash(
                        o.bindMemory(to: UInt8.self).baseAddress!, o.count, m.bindMemory(to: UInt8.self).baseAddress,
                        UInt64(m.count), k.bindMemory(to: UInt8.self).baseAddress!, k.count)
                }
            }
        }
        guard status == 0 else { throw SodiumFailure(operation: "crypto_generichash") }
        return out
    }

    /// Constant-time comparison of two equal-length arrays.
    static func constantTimeEquals(_ a: ArraySlice<UInt8>, _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { x in
            b.withUnsafeBytes { y in sodium_memcmp(x.baseAddress!, y.baseAddress!, x.count) }
        } == 0
    }

    /// Decodes standard base64 (padding required, spaces and newlines ignored) into protected memory; nil when the
    /// text is not base64. The caller wipes `text`.
    static func decodeBase64(_ text: [UInt8]) throws(SodiumFailure) -> SecureBytes? {
        var input = text
        input.append(0)
        defer { wipe(&input) }
        let decoded = try SecureBytes(count: text.count / 4 * 3 + 3)
        var length = 0
        var status: Int32 = -1
        var end: UnsafePointer<CChar>? = nil
        try decoded.fill { out throws(SodiumFailure) in
            status = input.withUnsafeBytes { b64 in
                " \t\r\n".withCString { ignore in
                    sodium_base642bin(
                        out.bindMemory(to: UInt8.self).baseAddress!, out.count,
                        b64.bindMemory(to: CChar.self).baseAddress!,
                        text.count, ignore, &length, &end, sodium_base64_VARIANT_ORIGINAL)
                }
            }
        }
        guard status == 0 else { return nil }
        let exact = try SecureBytes(count: length)
        try exact.fill { out throws(SodiumFailure) in
            try decoded.withBytes { source throws(SodiumFailure) in
                if length > 0 { out.baseAddress!.copyMemory(from: source.baseAddress!, byteCount: length) }
            }
        }
        return exact
    }

    /// Base64 (standard, padded) of secret bytes, for showing a freshly generated key to the user once.
    static func encodeBase64(_ bytes: SecureBytes) throws(SodiumFailure) -> [UInt8] {
        let size = sodium_base64_encoded_len(bytes.count, sodium_base64_VARIANT_ORIGINAL)
        var out = [UInt8](repeating: 0, count: size)
        let result = try bytes.withBytes { b throws(SodiumFailure) in
            out.withUnsafeMutableBytes { o in
                sodium_bin2base64(
                    o.bindMemory(to: CChar.self).baseAddress!, o.count, b.bindMemory(to: UInt8.self).baseAddress!,
                    b.count,
                    sodium_base64_VARIANT_ORIGINAL)
            }
        }
        guard result != nil else { throw SodiumFailure(operation: "sodium_bin2base64") }
        out.removeLast()  // the terminating NUL
        return out
    }

    /// Copies `bytes` of protected memory into an ordinary array, which is not protected memory (no guard pages, not
    /// locked), for parsing through `body`; the array is wiped when `body` returns or throws. `body` must not keep it.
    static func withExposedBytes<T>(
        _ bytes: SecureBytes, _ body: (inout [UInt8]) throws(KeywayError) -> T
    ) throws(KeywayError) -> T {
        var copy = bytes.exposedCopy()
        defer { wipe(&copy) }
        return try body(&copy)
    }
}
