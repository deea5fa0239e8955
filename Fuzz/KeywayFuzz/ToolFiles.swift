import KeywayCore

/// The readers of tools' own files (`INI`, `TOML`, `NPMRC`, for `~/.pypirc`, `~/.sentryclirc`, the Stripe CLI's
/// `config.toml`, `~/.npmrc`): no crash on any input; an error names a line of the input; what is read has no
/// duplicate names (each reader refuses them); a nerf dart, when there is one, is `//HOST/...` ending in `/`.
enum ToolFilesFuzz {
    static let target = FuzzTarget(
        name: "toolfiles", about: "the INI, TOML and .npmrc readers of tools' credentials files", run: run)

    static func run(_ bytes: [UInt8]) {
        guard let text = String(validating: bytes, as: UTF8.self) else { return }
        let lines = text.unicodeScalars.filter { $0 == "\n" }.count + 1
        func checkLine(_ error: LineSyntaxError) {
            guard (1...lines).contains(error.line) else { fatalError("an error names no line of the input") }
        }
        func checkTree(_ root: JSON) {
            guard case .object(let members) = root else { fatalError("a document that is not a table") }
            var seen = Set<String>()
            for (name, value) in members {
                guard seen.insert(name).inserted else { fatalError("a name read twice") }
                if case .object = value { checkTree(value) }
            }
        }
        do throws(LineSyntaxError) { checkTree(try INI.parse(text)) } catch { checkLine(error) }
        do throws(LineSyntaxError) { checkTree(try TOML.parse(text)) } catch { checkLine(error) }
        let environment = Environment(["NPM_TOKEN": "npm_fuzz"])
        do throws(LineSyntaxError) {
            for entry in try NPMRC.parse(text, environment: environment) {
                guard (1...lines).contains(entry.line) else { fatalError("an entry at no line of the input") }
                if case .string(let value) = entry.value {
                    do throws(LineSyntaxError) { _ = try NPMRC.expand(value, environment, line: entry.line) } catch {
                        checkLine(error)
                    }
                }
            }
        } catch { checkLine(error) }
        if let dart = NPMRC.nerfDart(text) {
            guard dart.hasPrefix("//"), dart.hasSuffix("/"), dart.count > 3 else { fatalError("a malformed nerf dart") }
        }
    }
}
