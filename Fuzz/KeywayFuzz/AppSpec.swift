import KeywayCore
import KeywayLeakCheck

/// App spec files (`<config>/apps/*.json`): the decoder, then what Keyway builds from a spec it accepted (the
/// leak-check rules from its prefixes). An accepted spec must survive `json()` (what `keyway apps --json` prints).
enum AppSpecFuzz {
    static let target = FuzzTarget(name: "appspec", about: "app spec JSON files (<config>/apps/*.json)", run: run)

    static func run(_ bytes: [UInt8]) {
        guard let spec = try? AppSpecDecoder.decode(bytes, source: "/fuzz/app.json") else { return }
        let again = try? AppSpecDecoder.decode(Array(spec.json().serialized().utf8), source: "/fuzz/again.json")
        guard again == spec else { fatalError("an accepted app spec does not survive its own json()") }
        _ = ContentScanner(rules: SecretRule.appRules([spec])).scan(Array(spec.notFoundMessage.utf8))
    }
}
