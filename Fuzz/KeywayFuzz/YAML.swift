import KeywayCore

/// The YAML reader of yaml-profiles sources (FluxLoop's credentials file), called exactly as Resolution's readYAML
/// calls it: bytes that are valid UTF-8, then the parser. Any error is a clean rejection.
enum YAMLFuzz {
    static let target = FuzzTarget(name: "yaml", about: "YAML credentials files (yaml-profiles sources)", run: run)

    static func run(_ bytes: [UInt8]) {
        guard let text = String(validating: bytes, as: UTF8.self) else { return }
        _ = try? YAML.parse(text)  // the parser Resolution.readYAML uses (libyaml); retarget here when it changes
    }
}
