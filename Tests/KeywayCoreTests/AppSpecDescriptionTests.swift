import KeywayCore
import Testing

/// `description` was once read and dropped: a spec field that does nothing. It is refused like any unknown field, so
/// a spec never carries a field that seems to say something Keyway ignores.
@Suite struct AppSpecDescriptionTests {
    static func spec(_ extra: String) -> [UInt8] {
        Array(#"{"name": "tool", \#(extra)"env": ["TOOL_API_KEY"], "sources": [{"type": "store"}]}"#.utf8)
    }

    @Test func aSpecWithoutItDecodes() throws {
        #expect(try AppSpecDecoder.decode(Self.spec(""), source: "tool.json").name == "tool")
    }

    @Test func descriptionIsRefusedAsUnknown() throws {
        let error = try #require(throws: KeywayError.self) {
            try AppSpecDecoder.decode(Self.spec(#""description": "The tool", "#), source: "tool.json")
        }
        #expect(error.code == .malformedSpec)
        #expect(error.message.hasPrefix("App spec tool.json: \"description\" is not a known field (known: "))
        #expect(!error.message.contains("description,"), "description is not listed among the known fields")
    }
}
