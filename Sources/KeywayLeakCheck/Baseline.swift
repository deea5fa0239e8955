import Glibc
import KeywayCore

/// Findings accepted as known: fingerprints over the rule, the path (relative to its repository) and a digest of
/// the secret, never line numbers (they churn) and never a secret. JSON:
/// `{"version": 1, "findings": [{"rule": ..., "path": ..., "fingerprint": ...}]}`.
public struct Baseline: Sendable {
    public struct Entry: Sendable, Equatable {
        public let rule: String
        public let path: String
        public let fingerprint: String
    }

    public let entries: [Entry]
    private let fingerprints: Set<String>

    public init(entries: [Entry]) {
        self.entries = entries
        fingerprints = Set(entries.map(\.fingerprint))
    }

    /// The baseline of a set of findings (each fingerprint once, sorted, so the file diffs well).
    public init(findings: [Finding]) {
        var seen = Set<String>()
        var entries: [Entry] = []
        for finding in findings where seen.insert(finding.fingerprint).inserted {
            entries.append(Entry(rule: finding.rule, path: finding.relativePath, fingerprint: finding.fingerprint))
        }
        self.init(entries: entries.sorted { ($0.path, $0.rule, $0.fingerprint) < ($1.path, $1.rule, $1.fingerprint) })
    }

    public func contains(_ finding: Finding) -> Bool { fingerprints.contains(finding.fingerprint) }

    package func json() -> JSON {
        .object([
            ("version", .int(1)),
            (
                "findings",
                .array(
                    entries.map {
                        .object([
                            ("rule", .string($0.rule)), ("path", .string($0.path)),
                            ("fingerprint", .string($0.fingerprint)),
                        ])
                    })
            ),
        ])
    }

    /// The baseline file's text, as `keyway leak-check --update-baseline` writes it (ending in a newline).
    public func serialized() -> String { json().serialized() + "\n" }

    /// Reads a baseline file; a malformed one is an error naming the file.
    public static func load(_ path: String) throws(KeywayError) -> Baseline {
        let read: [UInt8]?
        do throws(Errno) {
            let fd = try Sys.open(path, O_RDONLY | O_CLOEXEC)
            defer { Sys.close(fd) }
            read = try Sys.readAll(fd, limit: ProtectedFile.storeSizeLimit)
        } catch {
            throw KeywayError(.io, "Cannot read the baseline \(path): \(error).", path: path)
        }
        guard let bytes = read else {
            throw KeywayError(
                .malformedFile,
                "The baseline \(path) is larger than \(ProtectedFile.describeSize(ProtectedFile.storeSizeLimit)), the "
                    + "most Keyway reads.", path: path)
        }
        let json: JSON
        do throws(JSONSyntaxError) { json = try JSON.parse(bytes) } catch {
            throw KeywayError(.malformedFile, "The baseline \(path) is not valid JSON: \(error).", path: path)
        }
        guard json["version"]?.intValue == 1, case .array(let items)? = json["findings"] else {
            throw KeywayError(
                .malformedFile, "The baseline \(path) is not a leak-check baseline (version 1 with a findings array).",
                path: path)
        }
        var entries: [Entry] = []
        for (index, item) in items.enumerated() {
            guard let rule = item["rule"]?.stringValue, let file = item["path"]?.stringValue,
                let fingerprint = item["fingerprint"]?.stringValue, fingerprint.count == 64
            else {
                throw KeywayError(
                    .malformedFile,
                    "The baseline \(path): findings[\(index)] needs rule, path and a 64-digit fingerprint.",
                    path: path)
            }
            entries.append(Entry(rule: rule, path: file, fingerprint: fingerprint))
        }
        return Baseline(entries: entries)
    }
}
