import Foundation
import KeywayCore
import Testing

/// The fixtures in Data/YAML: files written by PyYAML and ruamel.yaml (Data/YAML/generate.py) and, by hand in the
/// output style of Go's yaml.v3 and yaml.v2, each with the value PyYAML's own loader reads from it (NAME.json).
let yamlFixtures: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Data/YAML")

func yamlFixtureNames() -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: yamlFixtures.path)) ?? [])
        .filter { $0.hasSuffix(".yaml") }.sorted()
}

func parseYAML(_ text: String) -> Result<JSON, YAML.SyntaxError> {
    Result { () throws(YAML.SyntaxError) in try YAML.parse(text) }
}

/// The error for `text`, or nil when it parses.
func yamlError(_ text: String) -> YAML.SyntaxError? {
    if case .failure(let error) = parseYAML(text) { return error }
    return nil
}

@Suite struct YAMLTests {
    @Test func fixturesExist() {
        let names = yamlFixtureNames()
        #expect(names.filter { $0.hasPrefix("pyyaml-") }.count >= 10)
        #expect(names.filter { $0.hasPrefix("ruamel-") }.count >= 8)
        #expect(names.filter { $0.hasPrefix("go-yaml-") }.count >= 2)
    }

    @Test(arguments: yamlFixtureNames())
    func fileWrittenByAnotherTool(name: String) throws {
        let yaml = try [UInt8](Data(contentsOf: yamlFixtures.appendingPathComponent(name)))
        let expected = try JSON.parse(
            [UInt8](Data(contentsOf: yamlFixtures.appendingPathComponent(String(name.dropLast(5)) + ".json"))))
        let value = try YAML.parse(yaml)
        #expect(value == expected, "\(name): \(value.serialized())")
        // Every fixture is a FluxLoop-style file: a key is found where FluxLoop looks.
        #expect(value["profiles"] != nil)
    }

    /// Every construct the review listed (issue 10, item 17), each as a vendor tool writes it.
    @Test(
        arguments: [
            ("profiles: {}\n", JSON.object([("profiles", .object([]))])),
            (
                "profiles: {default: {api_key: k1, scopes: [r, w]}}\n",
                .object([
                    (
                        "profiles",
                        .object([
                            (
                                "default",
                                .object([("api_key", .string("k1")), ("scopes", .array([.string("r"), .string("w")]))])
                            )
                        ])
                    )
                ])
            ),
            ("note: >-\n  folded\n  text\n\n  para\n", .object([("note", .string("folded text\npara"))])),
            ("note: |\n  literal\n    kept\n", .object([("note", .string("literal\n  kept\n"))])),
            ("note: |-\n  no newline\n", .object([("note", .string("no newline"))])),
            (
                "k: \"\\x41\\u00e9\\U0001F680\\t\\0\\a\\e\\N\\_\\L\\P\"\n",
                .object([("k", .string("A\u{e9}\u{1F680}\t\0\u{07}\u{1B}\u{85}\u{A0}\u{2028}\u{2029}"))])
            ),
            (
                "a: &x {p: 1}\nb: *x\n",
                .object([("a", .object([("p", .string("1"))])), ("b", .object([("p", .string("1"))]))])
            ),
            (
                "base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n",
                .object([
                    ("base", .object([("x", .string("1")), ("y", .string("2"))])),
                    ("m", .object([("x", .string("1")), ("y", .string("3"))])),
                ])
            ),
            (
                "a: &a {x: 1}\nb: &b {x: 2, y: 2}\nm: {<<: [*a, *b]}\n",
                .object([
                    ("a", .object([("x", .string("1"))])), ("b", .object([("x", .string("2")), ("y", .string("2"))])),
                    ("m", .object([("x", .string("1")), ("y", .string("2"))])),
                ])
            ),
            ("k: a plain scalar\n  over two lines\n", .object([("k", .string("a plain scalar over two lines"))])),
            (
                "items:\n- key: v\n  other: w\n- key: v2\n",
                .object([
                    (
                        "items",
                        .array([
                            .object([("key", .string("v")), ("other", .string("w"))]),
                            .object([("key", .string("v2"))]),
                        ])
                    )
                ])
            ),
            ("s: ['a, b', \"c,d\", e]\n", .object([("s", .array([.string("a, b"), .string("c,d"), .string("e")]))])),
            (
                "n: ~\ne:\nq: 'null'\nt: !!str null\nz: !!null ''\nb: true\ni: 0x1F\n",
                .object([
                    ("n", .null), ("e", .null), ("q", .string("null")), ("t", .string("null")), ("z", .null),
                    ("b", .string("true")), ("i", .string("0x1F")),
                ])
            ),
            ("\u{FEFF}k: v # a comment\n# another\n", .object([("k", .string("v"))])),
            ("--- \nk: v\n...\n", .object([("k", .string("v"))])),
            ("k: v\rl: w\r", .object([("k", .string("v")), ("l", .string("w"))])),
            ("", .null),
            ("# only a comment\n", .null),
        ] as [(String, JSON)])
    func construct(text: String, expected: JSON) throws {
        #expect(try YAML.parse(text) == expected, "\(text)")
    }

    /// CRLF everywhere, or on one line only: the same values, no carriage return in any of them.
    @Test func crlfLineEndings() throws {
        let lf =
            "profiles:\n  default:\n    api_key: flux_dev_k1\n    account: me@example.com\n  other:\n    api_key: 'q'\n"
        let expected = try YAML.parse(lf)
        #expect(expected["profiles"]?["default"]?["api_key"] == .string("flux_dev_k1"))
        #expect(try YAML.parse(lf.replacingOccurrences(of: "\n", with: "\r\n")) == expected)
        #expect(try YAML.parse(lf.replacingOccurrences(of: "k1\n", with: "k1\r\n")) == expected)
        #expect(try YAML.parse(lf.replacingOccurrences(of: "'q'\n", with: "'q'\r\n")) == expected)
        // Line breaks inside scalars become "\n" (block scalars) or a space (folded plain and quoted scalars).
        #expect(
            try YAML.parse("a: |\r\n  x\r\n  y\r\nb: plain\r\n  folded\r\nc: \"quoted\r\n  folded\"\r\n")
                == .object([("a", .string("x\ny\n")), ("b", .string("plain folded")), ("c", .string("quoted folded"))]))
    }

    /// Duplicate keys are refused with both places, in small and large mappings, block and flow; the key is never
    /// quoted.
    @Test func duplicateKeys() throws {
        let small = yamlError("profiles:\n  flux_dev_secret1:\n    api_key: a\n  flux_dev_secret1:\n    api_key: b\n")
        #expect(
            small
                == YAML.SyntaxError(
                    line: 4, column: 3, reason: "a duplicate key in one mapping (first at line 2, column 3)"))
        #expect(small?.description == "a duplicate key in one mapping (first at line 2, column 3) at line 4, column 3")

        var large = "profiles:\n"
        for i in 0..<1000 { large += "  p\(i):\n    api_key: k\(i)\n" }
        #expect(try YAML.parse(large)["profiles"]?["p999"]?["api_key"] == .string("k999"))
        let duplicate = yamlError(large + "  p17:\n    api_key: again\n")
        #expect(
            duplicate
                == YAML.SyntaxError(
                    line: 2002, column: 3, reason: "a duplicate key in one mapping (first at line 36, column 3)"))

        #expect(yamlError("{a: 1, b: 2, a: 3}")?.reason.hasPrefix("a duplicate key") == true)
        #expect(yamlError("- k: 1\n  k: 2\n")?.line == 2)
        #expect(yamlError("'k': 1\n\"k\": 2\n")?.line == 2, "quoted and unquoted spellings are one key")
        #expect(yamlError("<<: {a: 1}\n<<: {b: 1}\n")?.reason.hasPrefix("a second merge key") == true)
        // The same key in different mappings, and a merged key overridden, are fine.
        #expect(yamlError("a: {k: 1}\nb: {k: 2}\n") == nil)
        #expect(yamlError("d: &d {k: 1}\nm: {<<: *d, k: 2}\n") == nil)
    }

    /// No error quotes the file: a scalar there may be an API key.
    @Test(arguments: [
        "api_key: flux_dev_SECRET\n  bad: indent\n",
        "api_key: \"flux_dev_SECRET\n",
        "api_key: 'flux_dev_SECRET\n",
        "api_key: [flux_dev_SECRET\n",
        "api_key: {flux_dev_SECRET\n",
        "api_key: flux_dev_SECRET\napi_key: flux_dev_SECRET\n",
        "flux_dev_SECRET: 1\nflux_dev_SECRET: 2\n",
        "api_key: !!binary flux_dev_SECRET\n",
        "api_key: !flux_dev_SECRET x\n",
        "api_key: *flux_dev_SECRET\n",
        "api_key: \"\\qflux_dev_SECRET\"\n",
        "api_key: flux_dev_SECRET\u{07}\n",
        "api_key: flux_dev_SECRET\n---\nother: flux_dev_SECRET\n",
        "? [flux_dev_SECRET]\n: v\n",
        "\tapi_key: flux_dev_SECRET\n",
        "api_key: %flux_dev_SECRET\n",
        "<<: flux_dev_SECRET\n",
    ])
    func errorsQuoteNothing(text: String) throws {
        let error = try #require(yamlError(text), "\(text)")
        #expect(!error.description.contains("SECRET"), "\(error)")
        #expect(error.line >= 1 && error.column >= 1)
    }

    @Test func errorsHavePositions() {
        #expect(
            yamlError("a: 1\nb: \"open\n")
                == YAML.SyntaxError(
                    line: 3, column: 1,
                    reason:
                        "found unexpected end of stream (while scanning a quoted scalar that starts at line 2, column 4)"
                ))
        #expect(yamlError("a: 1\n\tb: 2\n")?.line == 2)
        #expect(
            yamlError("a: b\u{01}\n")
                == YAML.SyntaxError(line: 1, column: 5, reason: "control characters are not allowed"))
        #expect(
            yamlError("a: 1\n---\nb: 2\n")
                == YAML.SyntaxError(
                    line: 2, column: 1, reason: "a second YAML document (a file holds one)"))
        #expect(yamlError("k: !!binary aGk=\n")?.reason == "an unsupported tag")
        #expect(yamlError("k: !custom v\n")?.reason == "an unsupported tag")
        #expect(yamlError("? {a: 1}\n: v\n")?.reason == "a mapping key that is not a scalar (not supported)")
        #expect(yamlError("k: *nowhere\n")?.line == 1)
        #expect(
            yamlError("<<: [1]\n")?.reason
                == "the merge key '<<' must have a mapping or a list of mappings as its value")
    }

    /// An alias cannot refer to the collection it sits in, and aliases cannot multiply a small file into a huge tree.
    @Test func aliasBounds() throws {
        #expect(yamlError("a: &a [*a]\n")?.reason.hasPrefix("an alias to an anchor that is not defined") == true)
        var laughs = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        var previous = "a"
        for name in ["b", "c", "d", "e", "f", "g", "h", "i"] {
            laughs += "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ", ") + "]\n"
            previous = name
        }
        let error = try #require(yamlError(laughs))
        #expect(error.reason.hasPrefix("aliases expand to more than 100000 nodes"), "\(error)")
        #expect(error.line == 6, "refused as soon as the expansion passes the bound")
        // Ordinary use of aliases is far inside the bound.
        var shared = "s: &s [read, write]\nprofiles:\n"
        for i in 0..<2000 { shared += "  p\(i): {api_key: k\(i), scopes: *s}\n" }
        #expect(try YAML.parse(shared)["profiles"]?["p1999"]?["scopes"] == .array([.string("read"), .string("write")]))
    }

    @Test func nestingIsBounded() throws {
        #expect(try YAML.parse(String(repeating: "[", count: 512) + String(repeating: "]", count: 512)) != .null)
        #expect(
            yamlError(String(repeating: "[", count: 513) + String(repeating: "]", count: 513))
                == YAML.SyntaxError(line: 1, column: 513, reason: "nesting deeper than 512 levels"))
        var block = ""
        for depth in 0..<600 { block += String(repeating: " ", count: depth) + "k:\n" }
        #expect(yamlError(block)?.reason == "nesting deeper than 512 levels")
    }
}
