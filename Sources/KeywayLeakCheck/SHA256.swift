internal import CSodium

/// SHA-256, so leak-check can compare candidate tokens with stored secrets by digest and fingerprint findings without
/// keeping any secret in clear. libsodium's `crypto_hash_sha256` (needs no `sodium_init`: libsodium 1.0.18 has one
/// portable SHA-256 and no CPU dispatch for it); checked against the FIPS 180-4 vectors and the committed
/// fingerprints in LeakCheckTests.
package enum SHA256 {
    /// The digest of `bytes`.
    package static func hash<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        if let digest = bytes.withContiguousStorageIfAvailable(hash(buffer:)) { return digest }
        return Array(bytes).withUnsafeBufferPointer(hash(buffer:))
    }

    private static func hash(buffer input: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(crypto_hash_sha256_BYTES))
        // crypto_hash_sha256 always returns 0; a NULL input is fine when its length is 0.
        _ = digest.withUnsafeMutableBufferPointer { out in
            crypto_hash_sha256(out.baseAddress!, input.baseAddress, UInt64(input.count))
        }
        return digest
    }

    /// The digest of `pieces` one after another, as if joined (they are not copied together).
    package static func hash(joining pieces: [UInt8]...) -> [UInt8] {
        var state = crypto_hash_sha256_state()
        var digest = [UInt8](repeating: 0, count: Int(crypto_hash_sha256_BYTES))
        // The libsodium calls always return 0.
        _ = crypto_hash_sha256_init(&state)
        for piece in pieces {
            _ = piece.withUnsafeBufferPointer { crypto_hash_sha256_update(&state, $0.baseAddress, UInt64($0.count)) }
        }
        _ = digest.withUnsafeMutableBufferPointer { crypto_hash_sha256_final(&state, $0.baseAddress!) }
        return digest
    }

    /// The digest of `bytes` in lowercase hexadecimal.
    package static func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        hexString(hash(bytes))
    }
}

func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 15)])
    }
    return String(decoding: out, as: UTF8.self)
}
