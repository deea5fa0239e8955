import KeywayCore
import KeywayLeakCheck

/// leak-check's content scanner (every rule: the well-known ones, the built-in apps' prefixes and two stored keys),
/// run on a file's bytes as leak-check runs it on the working tree and on history.
enum ScannerFuzz {
    nonisolated(unsafe) static var scanner: ContentScanner!

    static let target = FuzzTarget(
        name: "scanner", about: "leak-check's content (line) scanner",
        setUp: {
            scanner = ContentScanner(
                rules: SecretRule.wellKnown + SecretRule.appRules(AppCatalog.builtIn),
                stored: StoredSecretMatcher(secrets: [
                    (label: "reflex (default)", secret: Secret("rfx_0123456789abcdefABCDEF")),
                    (label: "fuzz (p)", secret: Secret("stored-key-value-1234")),
                ]))
        },
        run: run)

    static func run(_ bytes: [UInt8]) {
        let lines = bytes.reduce(1) { $1 == 10 ? $0 + 1 : $0 }
        var previous = 1
        for match in scanner.scan(bytes) {
            guard match.line >= previous, match.line <= lines else {
                fatalError("a match on line \(match.line) of \(lines) (previous \(previous))")
            }
            previous = match.line
        }
    }
}

/// leak-check's baseline file (`--baseline`), read from disk as leak-check reads it. An accepted baseline must read
/// back the same from what `json()` writes.
enum BaselineFuzz {
    static let target = FuzzTarget(name: "baseline", about: "leak-check baseline files", run: run)

    static func run(_ bytes: [UInt8]) {
        guard let baseline = try? Baseline.load(Scratch.write("baseline.json", bytes)) else { return }
        let written = Scratch.write("again.json", Array(baseline.json().serialized().utf8))
        guard (try? Baseline.load(written))?.entries == baseline.entries else {
            fatalError("an accepted baseline does not read back the same")
        }
    }
}
