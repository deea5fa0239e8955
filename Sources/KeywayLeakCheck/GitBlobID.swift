/// The object id git gives a blob holding some bytes: the hash of `blob <size>\0` followed by the bytes, SHA-1 in a
/// repository of the default object format (40 hexadecimal digits), SHA-256 in one made with
/// `--object-format=sha256` (64). leak-check uses it to tell that a working-tree file is byte for byte the blob the
/// index and HEAD hold, so that it neither asks git for the committed version of a file it has just read nor reads
/// that blob again from the history (`RepositoryScan`). It is never used to protect anything; what a repository
/// crafted to fool it can hide is in SECURITY.md (a SHA-1 collision: git itself uses the hardened SHA-1DC, which
/// refuses the known collision attacks, and this plain SHA-1 gives the same ids for every other input; or an object
/// stored under an id that is not its own).
package enum GitBlobID {
    /// The id of a blob holding `bytes`, in the format of `like` (an object id of the same repository: its length
    /// tells SHA-1 from SHA-256); nil for an id of another length.
    package static func of(_ bytes: [UInt8], like oid: String) -> String? {
        let header = Array("blob \(bytes.count)\u{0}".utf8)
        switch oid.utf8.count {
        case 40:
            var hash = SHA1()
            hash.update(header)
            hash.update(bytes)
            return hexString(hash.finish())
        case 64:
            return hexString(SHA256.hash(joining: header, bytes))
        default:
            return nil
        }
    }
}

/// SHA-1 (FIPS 180-4 §6.1), for git object ids only (`GitBlobID`); checked against the FIPS vectors and against
/// `git hash-object` in LeakCheckTests.
package struct SHA1 {
    private var state: (UInt32, UInt32, UInt32, UInt32, UInt32) = (
        0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0
    )
    /// Bytes of an incomplete block, waiting for the rest of it.
    private var pending: [UInt8] = []
    private var length: UInt64 = 0

    package init() { pending.reserveCapacity(64) }

    package mutating func update(_ bytes: [UInt8]) {
        length &+= UInt64(bytes.count)
        bytes.withUnsafeBufferPointer { input in
            var offset = 0
            if !pending.isEmpty {
                let taken = min(64 - pending.count, input.count)
                pending.append(contentsOf: input[0..<taken])
                offset = taken
                guard pending.count == 64 else { return }
                let block = pending
                block.withUnsafeBufferPointer { compress($0.baseAddress!) }
                pending.removeAll(keepingCapacity: true)
            }
            while input.count - offset >= 64 {
                compress(input.baseAddress! + offset)
                offset += 64
            }
            if offset < input.count { pending.append(contentsOf: input[offset...]) }
        }
    }

    /// The 20-byte digest of everything given to `update`.
    package mutating func finish() -> [UInt8] {
        let bits = length &* 8
        var tail: [UInt8] = [0x80]
        tail += [UInt8](repeating: 0, count: (119 - pending.count) % 64)
        for shift in stride(from: 56, through: 0, by: -8) {
            tail.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift)))
        }
        update(tail)
        var digest: [UInt8] = []
        digest.reserveCapacity(20)
        for word in [state.0, state.1, state.2, state.3, state.4] {
            for shift in stride(from: 24, through: 0, by: -8) {
                digest.append(UInt8(truncatingIfNeeded: word >> UInt32(shift)))
            }
        }
        return digest
    }

    private mutating func compress(_ block: UnsafePointer<UInt8>) {
        // The message schedule, 16 words kept as a ring.
        var w:
            (
                UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32,
                UInt32, UInt32, UInt32
            ) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var (a, b, c, d, e) = state
        withUnsafeMutableBytes(of: &w) { raw in
            let words = raw.bindMemory(to: UInt32.self)
            for i in 0..<16 {
                words[i] =
                    UInt32(block[4 * i]) << 24 | UInt32(block[4 * i + 1]) << 16 | UInt32(block[4 * i + 2]) << 8
                    | UInt32(block[4 * i + 3])
            }
            for t in 0..<80 {
                let s = t & 15
                if t >= 16 {
                    let x = words[(t + 13) & 15] ^ words[(t + 8) & 15] ^ words[(t + 2) & 15] ^ words[s]
                    words[s] = x << 1 | x >> 31
                }
                let f: UInt32
                let k: UInt32
                switch t {
                case 0..<20:
                    f = (b & c) | (~b & d)
                    k = 0x5A82_7999
                case 20..<40:
                    f = b ^ c ^ d
                    k = 0x6ED9_EBA1
                case 40..<60:
                    f = (b & c) | (b & d) | (c & d)
                    k = 0x8F1B_BCDC
                default:
                    f = b ^ c ^ d
                    k = 0xCA62_C1D6
                }
                let temp = (a << 5 | a >> 27) &+ f &+ e &+ k &+ words[s]
                e = d
                d = c
                c = b << 30 | b >> 2
                b = a
                a = temp
            }
        }
        state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d, state.4 &+ e)
    }
}
