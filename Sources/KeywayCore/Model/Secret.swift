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

    /// A form safe to show: a recognizable prefix and a short tail, never more than a third of the key (see
    /// `Masking.mask`). Where the app is known, `AppSpec.masked(_:)` also keeps the app's own prefixes whole.
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
package enum Masking {
    /// Longest recognizable prefix considered, e.g. `reminix_pat_`.
    static let maximumPrefix = 16

    /// Masks `key` as `prefix...tail`.
    ///
    /// With a `knownPrefix` the key starts with (an app spec's required or expected prefix, a token kind's, a
    /// leak-check rule's; at most 16 characters), that prefix is shown whole: it is the same for every key of its kind,
    /// so it tells nothing secret. Of the key's own characters after it, a 4-character tail is shown, or fewer so that
    /// never more than a third of them is; when that leaves fewer than 2 (own part under 6 characters), `***`.
    ///
    /// Without one, prefix and tail together never exceed a third of the whole key: the key's leading
    /// word-and-separator part (`rfx_`, `flux_dev_`, `sk-proj-`) is shown whole when it fits with a tail of at least
    /// 2 characters (the tail up to 4), else the first characters (up to 4) and the last (up to 4). Keys of fewer
    /// than 6 characters show `***`.
    public static func mask(_ key: String, knownPrefix: String? = nil) -> String {
        // Counted in Unicode scalars, not Characters: a key of a few letters each carrying hundreds of combining marks
        // is a few Characters, and showing "a third" of its Characters would show nearly all of it.
        let scalars = Array(key.unicodeScalars)
        var lead: Int
        let tail: Int
        if let knownPrefix, !knownPrefix.isEmpty, knownPrefix.unicodeScalars.count <= maximumPrefix,
            scalars.starts(with: knownPrefix.unicodeScalars)
        {
            lead = knownPrefix.unicodeScalars.count
            tail = min(4, (scalars.count - lead) / 3)
            if tail < 2 { return "***" }
        } else {
            let budget = scalars.count / 3
            if budget < 2 { return "***" }
            let recognized = recognizablePrefixLength(scalars)
            if recognized > 0, recognized + 2 <= budget {
                lead = recognized
            } else {
                lead = min(4, budget / 2)
            }
            tail = min(4, budget - lead)
        }
        // Appended one scalar at a time: String's generic init from a sequence costs a runtime type lookup at the
        // first use, and `get` masks a key on every run.
        var masked = ""
        for scalar in scalars[0..<lead] { masked.unicodeScalars.append(scalar) }
        masked += "..."
        for scalar in scalars[(scalars.count - tail)...] { masked.unicodeScalars.append(scalar) }
        return masked
    }

    /// Length of a leading `letters[_-]letters[_-]...` run ending in a separator, each word at most 8 letters.
    static func recognizablePrefixLength(_ scalars: [Unicode.Scalar]) -> Int {
        var best = 0
        var index = 0
        var wordLength = 0
        while index < scalars.count, index < maximumPrefix {
            let c = scalars[index]
            if c.isASCII, c.properties.isAlphabetic {
                wordLength += 1
                if wordLength > 8 { break }
            } else if c == "_" || c == "-", wordLength > 0 {
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
