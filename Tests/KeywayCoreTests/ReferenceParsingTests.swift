import KeywayCore
import Testing

@Suite struct ReferenceParsingTests {
    @Test func references() throws {
        #expect(try KeywayReference.parse("keyway://reflex") == KeywayReference(app: "reflex"))
        #expect(try KeywayReference.parse("keyway://a.b-c_d/prod") == KeywayReference(app: "a.b-c_d", profile: "prod"))
        #expect(
            try KeywayReference.parse("keyway://gh/work#account")
                == KeywayReference(app: "gh", profile: "work", field: .account))
        for bad in [
            "keyway://", "keyway:///p", "keyway://a/", "keyway://a/b/c", "keyway://a#", "keyway://a#key",
            "keyway://a#account#x", "keyway://a b", "keyway://a%20", "keyway://a?x=1", "keyway://..", "reflex",
            "keyway://a/b#account/x", "keyway://" + String(repeating: "a", count: 129),
        ] {
            #expect(throws: KeywayError.self, "\(bad)") { try KeywayReference.parse(bad) }
        }
    }

    @Test func templates() throws {
        let pieces = try ReferenceTemplate.parse(
            Array("a {{ keyway://x }} b\n{{keyway://y/p#organization}}{{ other }}".utf8))
        #expect(
            pieces == [
                .text(Array("a ".utf8)), .reference(KeywayReference(app: "x"), line: 1), .text(Array(" b\n".utf8)),
                .reference(KeywayReference(app: "y", profile: "p", field: .organization), line: 2),
                .text(Array("{{ other }}".utf8)),
            ])
        #expect(throws: KeywayError.self) { try ReferenceTemplate.parse(Array("x {{ keyway://a \n}}".utf8)) }
        #expect(throws: KeywayError.self) { try ReferenceTemplate.parse(Array("{{ keyway://a b }}".utf8)) }
    }

    @Test func dotenv() throws {
        let entries = try DotEnv.parse(Array("A=1\r\nexport B = \"x\\ty\" # c\nC='lit \\n $x'\n".utf8))
        #expect(entries.map(\.name) == ["A", "B", "C"])
        #expect(entries[2].value == "lit \\n $x")
        #expect(entries[0].value == "1")
        #expect(entries[1].value == "x\ty")
        #expect(throws: KeywayError.self) { try DotEnv.parse(Array("A='open\n".utf8)) }
        #expect(throws: KeywayError.self) { try DotEnv.parse(Array("1A=x\n".utf8)) }
        #expect(throws: KeywayError.self) { try DotEnv.parse(Array("A=\"x\" y\n".utf8)) }
        #expect(try DotEnv.parse(Array("export=1\n".utf8)).first?.name == "export")
    }
}
