import KeywayCore
import Testing

/// Review 3 of issue 10: masking, invisible keys, exact names, message punctuation.
@Suite struct Review3KeyTests {
    /// D7: a mask counts Unicode scalars, so combining marks cannot make "a third" of a key most of it.
    @Test func maskCountsScalarsNotCharacters() {
        let key = "rfx_abcdef" + String(repeating: "\u{301}", count: 3000)
        let masked = Masking.mask(key, knownPrefix: "rfx_")
        let shown = masked.unicodeScalars.count - 3  // the "..."
        #expect(shown <= key.unicodeScalars.count / 3 + 4, "\(shown) scalars shown")
        #expect(masked.unicodeScalars.count <= 4 + 3 + 4, "\(masked.unicodeScalars.count)")
        let plain = Masking.mask(key)
        #expect(plain.unicodeScalars.count <= 3 + key.unicodeScalars.count / 3)
        #expect(plain.unicodeScalars.count <= 3 + 8)
        // ASCII keys mask as before.
        #expect(Masking.mask("rfx_abcdef", knownPrefix: "rfx_") == "rfx_...ef")
        #expect(Masking.mask("flux_dev_abc123def456ghi789jkl012mno34", knownPrefix: "flux_dev_") == "flux_dev_...no34")
    }

    /// D9: keys of only invisible characters are blank; a format character (Cf) anywhere is refused.
    @Test(arguments: [
        String(repeating: "\u{3164}", count: 6), String(repeating: "\u{2800}", count: 6),
        String(repeating: "\u{034F}", count: 4), "\u{115F}\u{1160}\u{FFA0}", "\u{FE0F}\u{FE00}\u{E0100}\u{E01EF}",
        "\u{E0041}\u{E0042}\u{E007F}", " \u{3164} ",
    ])
    func invisibleOnlyKeysAreBlank(key: String) {
        #expect(APIKeyRules.violation(key) == .blank)
    }

    @Test(arguments: [
        "rfx_abc\u{202E}def", "rfx_\u{2066}abc\u{2069}", "rfx_abc\u{200B}def", "rfx_abc\u{00AD}def",
        "\u{FEFF}rfx_abcdef",
        "rfx_abcdef\u{FEFF}", "rfx_abc\u{E0041}def", "rfx_abc\u{2067}\u{2068}def",
        "rfx_abc\u{202A}\u{202B}\u{202C}\u{202D}",
    ])
    func formatCharactersAreRefused(key: String) {
        #expect(APIKeyRules.violation(key) == .formatCharacter)
        #expect(APIKeyRules.Violation.formatCharacter.description.contains("Cf"))
    }

    /// KWallet returns a binary secret (`\377\376`) as two U+FFFD: such a key was mangled, not typed.
    @Test(arguments: ["\u{FFFD}\u{FFFD}", "rfx_abc\u{FFFD}def", "\u{FFFD}rfx_abcdef", "ключ\u{FFFD}"])
    func replacementCharactersAreRefused(key: String) {
        #expect(APIKeyRules.violation(key) == .replacementCharacter)
        #expect(APIKeyRules.Violation.replacementCharacter.description.contains("U+FFFD"))
    }

    @Test(arguments: ["rfx_abc\u{3164}def", "rfx_abc\u{FE0F}def", "rfx_abc\u{034F}def", "rfx_abc\u{2800}def"])
    func otherInvisibleCharactersInTheMiddleWarn(key: String) {
        #expect(APIKeyRules.violation(key) == nil)
        #expect(APIKeyRules.invisibleCharacters(key) != nil)
    }

    /// G2: YAML keys are the same only when their scalars are (as PyYAML): NFC/NFD and Kelvin sign are distinct.
    @Test func yamlKeysAreComparedByScalars() throws {
        let nfc = "caf\u{E9}", nfd = "cafe\u{301}"
        let text =
            "profiles:\n  \(nfc):\n    api_key: one\n  \(nfd):\n    api_key: two\n  \u{212A}: {api_key: three}\n  K: {api_key: four}\n"
        let root = try YAML.parse(text)
        #expect(root["profiles"]?[nfc]?["api_key"] == .string("one"))
        #expect(root["profiles"]?[nfd]?["api_key"] == .string("two"))
        #expect(root["profiles"]?["\u{212A}"]?["api_key"] == .string("three"))
        #expect(root["profiles"]?["K"]?["api_key"] == .string("four"))
        let onlyNFD = try YAML.parse("profiles:\n  \(nfd):\n    api_key: two\n")
        #expect(onlyNFD["profiles"]?[nfc] == nil, "an NFC name does not find an NFD-only profile")
        // Many keys (the indexed path) too.
        let many = (0..<40).map { "k\($0): x\n" }.joined() + "\(nfc): one\n\(nfd): two\n"
        #expect(try YAML.parse(many)[nfd] == .string("two"))
        #expect(try YAML.parse(many)[nfc] == .string("one"))
        #expect(throws: YAML.SyntaxError.self) { try YAML.parse("\(nfc): 1\n\(nfc): 2\n") }
    }

    /// G2: credentials.json's names are exact too, the same in the fast path and the full decoder.
    @Test func credentialNamesAreComparedByScalars() throws {
        let nfc = "caf\u{E9}", nfd = "cafe\u{301}"
        let text = """
            {"version": 1, "credentials": [
              {"app": "x", "profile": "\(nfc)", "api_key": "k1"},
              {"app": "x", "profile": "\(nfd)", "api_key": "k2", "\(nfc)": 1, "\(nfd)": 2}
            ], "\u{212A}": 1, "K": 2}
            """
        let bytes = Array(text.utf8)
        let full = try CredentialDocument(parsing: bytes, source: "/f")
        #expect(full.credentials.count == 2)
        for (profile, key) in [(nfc, "k1"), (nfd, "k2")] {
            let id = CredentialID(app: "x", profile: profile)
            #expect(full.credential(id)?.secret.reveal() == key)
            #expect(try CredentialDocument.credential(id, parsing: bytes, source: "/f")?.secret.reveal() == key)
        }
        #expect(CredentialID(app: "x", profile: nfc) != CredentialID(app: "x", profile: nfd))
        #expect(Set([CredentialID(app: "x", profile: nfc), CredentialID(app: "x", profile: nfd)]).count == 2)
    }

    /// G4: one period at the end of an unusable name's message.
    @Test func unusableNameMessageEndsWithOnePeriod() {
        let text =
            "{\"version\": 1, \"credentials\": [{\"app\": \"a\\u0007b\", \"profile\": \"p\", \"api_key\": \"k\"}]}"
        let document = Result { () throws(KeywayError) in
            try CredentialDocument(parsing: Array(text.utf8), source: "/f")
        }
        guard case .failure(let error) = document else {
            Issue.record("a name with a control character was accepted")
            return
        }
        #expect(!error.message.contains(".."), "\(error.message)")
        #expect(
            error.message.contains("has an unusable name: the app name contains a control character. "),
            "\(error.message)")
        let spec = Result { () throws(KeywayError) in
            try AppSpecDecoder.decode(Array("{\"name\": \"a\\u0007b\", \"env\": []}".utf8), source: "/s")
        }
        guard case .failure(let specError) = spec else {
            Issue.record("a spec named with a control character was accepted")
            return
        }
        #expect(specError.message.hasSuffix("(the app name contains a control character)."), "\(specError.message)")
    }
}
