import KeywayCore
import Testing

@Suite struct JSONTests {
    @Test func roundTrip() throws {
        let text = """
            {"a": [1, -2.5e3, true, false, null], "b": {"nested": "x\\"y\\\\z\\n\\u00e9\\ud83d\\ude80"}, "c": ""}
            """
        let value = try JSON.parse(text)
        #expect(value["b"]?["nested"]?.stringValue == "x\"y\\z\né🚀")
        #expect(try JSON.parse(value.serialized()) == value)
        #expect(try JSON.parse(value.serialized(pretty: false)) == value)
        #expect(value.serialized(pretty: false).hasPrefix("{\"a\":[1,-2.5e3,true,false,null]"))
    }

    @Test func keepsKeyOrder() throws {
        let value = try JSON.parse("{\"z\":1,\"a\":2,\"m\":3}")
        #expect(value.serialized(pretty: false) == "{\"z\":1,\"a\":2,\"m\":3}")
    }

    @Test(arguments: [
        ("", 1, 1), ("{", 1, 2), ("{\"a\" 1}", 1, 6), ("[1,]", 1, 4), ("{\n  \"a\": tru\n}", 2, 8),
        ("{\"a\":1}x", 1, 8), ("\"unterminated", 1, 1), ("[01]", 1, 3), ("{\"a\":\"\u{01}\"}", 1, 7),
        ("[\"\\x\"]", 1, 3), ("[\"\\ud800\"]", 1, 9),
    ])
    func syntaxErrorsHavePositions(text: String, line: Int, column: Int) {
        do {
            _ = try JSON.parse(text)
            Issue.record("\(text) parsed")
        } catch {
            #expect(error.line == line && error.column == column, "\(text): \(error)")
        }
    }

    @Test func deepNestingIsRefused() {
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(throws: JSONSyntaxError.self) { try JSON.parse(deep) }
        let fine = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        #expect(throws: Never.self) { try JSON.parse(fine) }
    }

    @Test func invalidUTF8IsRefused() {
        #expect(throws: JSONSyntaxError.self) { try JSON.parse([0x22, 0xC3, 0x28, 0x22]) }
        #expect(throws: JSONSyntaxError.self) { try JSON.parse([0x22, 0xFF, 0x22]) }
    }

    @Test func escapesControlCharacters() {
        #expect(JSON.string("a\u{01}b\u{7F}\u{2028}").serialized(pretty: false) == "\"a\\u0001b\\u007f\\u2028\"")
    }
}

@Suite struct CredentialDocumentTests {
    @Test func roundTripAndOrder() throws {
        var document = CredentialDocument()
        document.upsert(Credential(id: CredentialID(app: "b"), secret: Secret("kb")))
        document.upsert(Credential(id: CredentialID(app: "a", profile: "z"), secret: Secret("kaz")))
        document.upsert(Credential(id: CredentialID(app: "a"), secret: Secret("ka"), scopes: ["x"]))
        #expect(document.credentials.map(\.id.app) == ["a", "a", "b"])
        let parsed = try CredentialDocument(parsing: document.serialized(), source: "t")
        #expect(parsed == document)
        #expect(parsed.credentials.map(\.id.profile) == ["default", "z", "default"])
    }

    @Test func versionAndShapeErrorsNameTheField() {
        func message(_ text: String) -> KeywayError? {
            do {
                _ = try CredentialDocument(parsing: Array(text.utf8), source: "/f")
                return nil
            } catch { return error }
        }
        #expect(message("[]")?.message.contains("the top level must be an object") == true)
        #expect(message("{}")?.message.contains("\"version\" is missing") == true)
        #expect(message("{\"version\":2,\"credentials\":[]}")?.code == .unsupportedVersion)
        #expect(message("{\"version\":1}")?.message.contains("\"credentials\" is missing") == true)
        #expect(message("{\"version\":1,\"credentials\":[{\"app\":\"a\"}]}")?.message.contains("credentials[0].profile is missing") == true)
        #expect(
            message("{\"version\":1,\"credentials\":[{\"app\":\"a\",\"profile\":\"p\",\"api_key\":5}]}")?.message
                .contains("credentials[0].api_key must be a string, found a number") == true)
        let duplicate = "{\"version\":1,\"credentials\":[{\"app\":\"a\",\"profile\":\"p\",\"api_key\":\"k\"},"
            + "{\"app\":\"a\",\"profile\":\"p\",\"api_key\":\"k\"}]}"
        #expect(message(duplicate)?.message.contains("credentials[1] repeats a (profile p)") == true)
        #expect(message("{\"version\":1,\"credentials\":[]}") == nil)
    }
}
