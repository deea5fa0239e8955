/// An API key or token. Its value never appears in `description`, `debugDescription`, `dump`, string interpolation,
/// logs or errors: those all print `<redacted>`. Read it only on purpose, through `reveal()` or `masked`.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable,
    CustomLeafReflectable
{
    private let value: String

    public init(_ value: String) { self.value = value }

    /// The secret itself. Call only where the secret must leave the process (printing for `get`, storing, passing to
    /// a child process).
    public func reveal() -> String { value }

    /// A form safe to show: a recognizable prefix and a short tail, never more than a third of the key.
    public var masked: String { Masking.mask(value) }

    public var isEmpty: Bool { value.isEmpty }

    /// The number of characters.
    public var count: Int { value.count }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "Secret(<redacted>)" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

    /// Compares in time that depends only on the lengths, not on where the values first differ.
    public static func == (lhs: Secret, rhs: Secret) -> Bool {
        let a = Array(lhs.value.utf8), b = Array(rhs.value.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(value) }
}

/// The masking rule shared by every output.
public enum Masking {
    /// Longest recognizable prefix considered, e.g. `reminix_pat_`.
    static let maximumPrefix = 16

    /// Masks `key`: `prefix...tail`, where the prefix is the key's leading word-and-separator part (`rfx_`,
    /// `flux_dev_`, `reminix_sk_`, `sk-proj-`), or its first characters when it has none, and the tail is its last
    /// characters; together they never exceed a third of the key. Keys of fewer than 6 characters show nothing.
    public static func mask(_ key: String, knownPrefix: String? = nil) -> String {
        let characters = Array(key)
        let budget = characters.count / 3
        if budget < 2 { return "***" }
        var prefixLength: Int
        if let knownPrefix, key.hasPrefix(knownPrefix) {
            prefixLength = knownPrefix.count
        } else {
            prefixLength = recognizablePrefixLength(characters)
        }
        if prefixLength == 0 { prefixLength = min(4, budget / 2) }
        prefixLength = min(prefixLength, budget - 1)
        let tailLength = min(4, budget - prefixLength)
        // Appended one Character at a time: String's generic init from a sequence costs a runtime type lookup at the
        // first use, and `get` masks a key on every run.
        var masked = ""
        for character in characters[0..<prefixLength] { masked.append(character) }
        masked += "..."
        for character in characters[(characters.count - tailLength)...] { masked.append(character) }
        return masked
    }

    /// Length of a leading `letters[_-]letters[_-]...` run ending in a separator, each word at most 8 letters.
    static func recognizablePrefixLength(_ characters: [Character]) -> Int {
        var best = 0
        var index = 0
        var wordLength = 0
        while index < characters.count, index < maximumPrefix {
            let c = characters[index]
            if c.isASCII, c.isLetter {
                wordLength += 1
                if wordLength > 8 { break }
            } else if (c == "_" || c == "-"), wordLength > 0 {
                best = index + 1
                wordLength = 0
            } else {
                break
            }
            index += 1
        }
        return best
    }
}
