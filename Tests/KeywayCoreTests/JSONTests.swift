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

    @Test func escapesC1ControlCharacters() throws {
        // U+009B is CSI for a terminal that honours C1 controls: never written raw.
        let text = JSON.string("x\u{80}\u{9B}31m\u{9F}\u{A0}").serialized(pretty: false)
        #expect(text == "\"x\\u0080\\u009b31m\\u009f\u{A0}\"")
        #expect(try JSON.parse(text) == .string("x\u{80}\u{9B}31m\u{9F}\u{A0}"))
    }

    @Test func terminalTextEscapesEveryControlCharacter() {
        #expect(TerminalText.escaped("plain é/path") == "plain é/path")
        #expect(
            TerminalText.escaped("a\u{1B}]0;t\u{07}b\u{9B}2Jc\u{7F}d\n\r\t\u{00}")
                == "a\\x1b]0;t\\x07b\\u{9b}2Jc\\x7fd\\x0a\\x0d\\x09\\x00")
        #expect(TerminalText.escaped("k\r\nl\n", keepingNewlines: true) == "k\\x0d\nl\n")
        #expect(TerminalText.escaped("\u{A0}\u{85}") == "\u{A0}\\u{85}")
    }

    /// The byte-level checks that let clean strings through whole (`JSON.needsEscaping`, `TerminalText.hasControl`)
    /// agree with the scalar-by-scalar rules for every scalar near a boundary, alone, at either end or inside a
    /// string: the UTF-8 neighbours of C1 (`C2 7F`-`C2 A0`: U+00A0 is no control), of U+2028/U+2029, and ASCII.
    @Test func cleanStringsPassWholeAndEveryEscapeIsStillFound() {
        let scalars: [Unicode.Scalar] =
            (0...0xFF).compactMap(Unicode.Scalar.init) + ["\u{2027}", "\u{2028}", "\u{2029}", "\u{202A}", "\u{1F680}"]
        for scalar in scalars {
            for text in [String(scalar), "a\(scalar)", "\(scalar)b", "é\(scalar)é"] {
                var json = "\""
                for s in text.unicodeScalars {
                    switch s {
                    case "\"": json += "\\\""
                    case "\\": json += "\\\\"
                    case "\n": json += "\\n"
                    case "\r": json += "\\r"
                    case "\t": json += "\\t"
                    case "\u{08}": json += "\\b"
                    case "\u{0C}": json += "\\f"
                    default:
                        if s.value < 0x20 || (0x7F...0x9F).contains(s.value) || s == "\u{2028}" || s == "\u{2029}" {
                            let hex = String(s.value, radix: 16)
                            json += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                        } else {
                            json.unicodeScalars.append(s)
                        }
                    }
                }
                #expect(
                    JSON.string(text).serialized(pretty: false) == json + "\"", "U+\(String(scalar.value, radix: 16))")
                for keeping in [false, true] {
                    var terminal = ""
                    for s in text.unicodeScalars {
                        if keeping, s == "\n" {
                            terminal += "\n"
                        } else if s.value < 0x20 || s.value == 0x7F {
                            let hex = String(s.value, radix: 16)
                            terminal += "\\x" + (hex.count == 1 ? "0" : "") + hex
                        } else if (0x80...0x9F).contains(s.value) {
                            terminal += "\\u{" + String(s.value, radix: 16) + "}"
                        } else {
                            terminal.unicodeScalars.append(s)
                        }
                    }
                    #expect(
                        TerminalText.escaped(text, keepingNewlines: keeping) == terminal,
                        "U+\(String(scalar.value, radix: 16)), keeping newlines: \(keeping)")
                }
            }
        }
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
        #expect(
            message("{\"version\":1,\"credentials\":[{\"app\":\"a\"}]}")?.message.contains(
                "credentials[0].profile is missing") == true)
        #expect(
            message("{\"version\":1,\"credentials\":[{\"app\":\"a\",\"profile\":\"p\",\"api_key\":5}]}")?.message
                .contains("credentials[0].api_key must be a string, found a number") == true)
        let duplicate =
            "{\"version\":1,\"credentials\":[{\"app\":\"a\",\"profile\":\"p\",\"api_key\":\"k\"},"
            + "{\"app\":\"a\",\"profile\":\"p\",\"api_key\":\"k\"}]}"
        #expect(message(duplicate)?.message.contains("credentials[1] repeats a (profile p)") == true)
        #expect(message("{\"version\":1,\"credentials\":[]}") == nil)
    }
}

/// `CredentialDocument.credential(_:parsing:source:)` (the fast path of `get`) must agree with the full decoder on
/// every document: the same credential, and the same error for every broken one.
@Suite struct CredentialLookupTests {
    func both(_ text: String, _ id: CredentialID) -> (
        Result<Credential?, KeywayError>, Result<Credential?, KeywayError>
    ) {
        let bytes = Array(text.utf8)
        let fast = Result<Credential?, KeywayError> { () throws(KeywayError) in
            try CredentialDocument.credential(id, parsing: bytes, source: "/f")
        }
        let full = Result<Credential?, KeywayError> { () throws(KeywayError) in
            try CredentialDocument(parsing: bytes, source: "/f").credential(id)
        }
        return (fast, full)
    }

    func entry(_ app: String, _ profile: String = "default", extra: String = "") -> String {
        "{\"app\": \"\(app)\", \"profile\": \"\(profile)\", \"api_key\": \"k-\(app)-\(profile)\"\(extra)}"
    }

    @Test func agreesOnValidDocuments() throws {
        var document = CredentialDocument()
        for i in 0..<50 {
            document.upsert(
                Credential(
                    id: CredentialID(app: "app\(i % 7)-ü\(i)", profile: i % 3 == 0 ? "default" : "p\(i)"),
                    secret: Secret("key \"\(i)\" \\ é 🚀"), account: i % 2 == 0 ? "a\(i)@x" : nil,
                    organization: "org\(i)", scopes: i % 4 == 0 ? ["r", "w"] : [],
                    expires: i % 5 == 0 ? Day(year: 2030, month: 1, day: 1 + i % 28) : nil,
                    created: Timestamp(secondsSinceEpoch: 1_700_000_000 + Int64(i)),
                    updated: Timestamp(secondsSinceEpoch: 1_700_100_000 + Int64(i))))
        }
        let text = String(decoding: document.serialized(), as: UTF8.self)
        for credential in document.credentials {
            let (fast, full) = both(text, credential.id)
            #expect(try fast.get() == credential)
            #expect(try full.get() == credential)
        }
        #expect(try both(text, CredentialID(app: "absent")).0.get() == nil)
        // Hand-written variants: other key order, escapes in names, extra fields, nulls, offsets in times.
        let variant = """
            {"credentials": [
              {"api_key": "k1", "profile": "d\\u0065fault", "app": "a\\/b", "future_field": {"x": [1, 2]}, "account": null},
              {"app": "z", "profile": "default", "api_key": "k2", "created": "2026-01-01T10:00:00+02:00", "scopes": null}
            ], "version": 1, "extra": true}
            """
        let (fast, full) = both(variant, CredentialID(app: "a/b"))
        #expect(try fast.get() != nil)
        #expect(try fast.get() == full.get())
        let (fast2, full2) = both(variant, CredentialID(app: "z"))
        #expect(try fast2.get() == full2.get())
        #expect(try fast2.get()?.created.description == "2026-01-01T08:00:00Z")
    }

    @Test(arguments: [
        "", "[]", "{}", "{\"version\": 1}", "{\"version\": 2, \"credentials\": []}",
        "{\"version\": \"1\", \"credentials\": []}", "{\"version\": 1, \"credentials\": {}}",
        "{\"version\": 1, \"format\": \"other\", \"credentials\": []}",
        "{\"version\": 1, \"credentials\": [5]}",
        "{\"version\": 1, \"credentials\": [{\"app\": \"x\"}]}",
        "{\"version\": 1, \"credentials\": [{\"app\": \"x\", \"profile\": \"p\"}]}",
        "{\"version\": 1, \"credentials\": [{\"app\": \"x\", \"profile\": \"p\", \"api_key\": 5}]}",
        "{\"version\": 1, \"credentials\": [{\"app\": \"x\", \"profile\": \"p\", \"api_key\": \"k\", \"scopes\": \"r\"}]}",
        "{\"version\": 1, \"credentials\": [{\"app\": \"x\", \"profile\": \"p\", \"api_key\": \"k\", \"scopes\": [1]}]}",
        "{\"version\": 1, \"credentials\": [{\"app\": \"x\", \"profile\": \"p\", \"api_key\": \"k\", \"expires\": \"2026-02-30\"}]}",
        "{\"version\": 1, \"credentials\": [{\"app\": \"x\", \"profile\": \"p\", \"api_key\": \"k\", \"created\": \"yesterday\"}]}",
        "{\"version\": 1, \"credentials\": [{\"app\": \"\", \"profile\": \"p\", \"api_key\": \"k\"}]}",
        "{\"version\": 1, \"credentials\": [{\"app\": \"a\\nb\", \"profile\": \"p\", \"api_key\": \"k\"}]}",
        "{\"version\": 1, \"credentials\": [{\"app\": \"x\", \"profile\": \"p\", \"api_key\": \"k\"}, {\"app\": \"x\", \"profile\": \"p\", \"api_key\": \"k2\"}]}",
        "{\"version\": 1, \"credentials\": [{\"app\": \"x\", \"profile\": \"p\", \"api_key\": \"k\"}]} trailing",
        "{\"version\": 1, \"credentials\": [{\"app\": \"x\", \"profile\": \"p\", \"api_key\": \"k\",}]}",
        "{\"credentials\": [{\"app\": \"y\", \"profile\": \"p\", \"api_key\": 1}], \"version\": 1, \"x\": [}",
        "{\"version\": 1, \"credentials\": [{\"app\": \"x\", \"profile\": \"p\", \"api_key\": \"\u{01}\"}]}",
        // A field twice: in the entry asked for or another, null or not, known or not, or at the top level.
        "{\"version\": 1, \"credentials\": [{\"app\": \"x\", \"profile\": \"p\", \"api_key\": \"k\", \"api_key\": \"k2\"}]}",
        "{\"version\": 1, \"credentials\": [{\"app\": \"x\", \"profile\": \"p\", \"api_key\": null, \"api_key\": \"k2\"}]}",
        "{\"version\": 1, \"credentials\": [{\"app\": \"x\", \"profile\": \"p\", \"api_key\": \"k\", \"account\": \"a\", \"account\": null}]}",
        "{\"version\": 1, \"credentials\": [{\"app\": \"x\", \"app\": \"y\", \"profile\": \"p\", \"api_key\": \"k\"}]}",
        "{\"version\": 1, \"credentials\": [{\"app\": \"x\", \"profile\": \"p\", \"api_key\": \"k\", \"scopes\": [], \"scopes\": [\"r\"]}]}",
        "{\"version\": 1, \"credentials\": [{\"app\": \"x\", \"profile\": \"p\", \"api_key\": \"k\", \"later\": 1, \"later\": 2}]}",
        "{\"version\": 1, \"credentials\": [{\"app\": \"x\", \"profile\": \"p\", \"api_key\": \"k\", \"l\\u0061ter\": 1, \"later\": 2}]}",
        "{\"version\": 1, \"credentials\": [{\"app\": \"x\", \"profile\": \"p\", \"api_key\": \"k\", \"\\u0061pi_key\": \"k\"}]}",
        "{\"version\": 1, \"credentials\": [{\"app\": \"y\", \"profile\": \"p\", \"api_key\": \"k\", \"api_key\": \"k\"}, {\"app\": \"x\", \"profile\": \"p\", \"api_key\": \"k\"}]}",
        "{\"version\": 1, \"version\": 1, \"credentials\": [{\"app\": \"x\", \"profile\": \"p\", \"api_key\": \"k\"}]}",
        "{\"format\": \"keyway-credentials\", \"format\": \"keyway-credentials\", \"version\": 1, \"credentials\": []}",
        "{\"version\": 1, \"credentials\": [{\"app\": \"x\", \"profile\": \"p\", \"api_key\": \"k\"}], \"credentials\": []}",
        "{\"version\": 1, \"credentials\": [], \"x\": 1, \"x\": 2}",
    ])
    func agreesOnBrokenDocuments(text: String) {
        let (fast, full) = both(text, CredentialID(app: "x", profile: "p"))
        switch (fast, full) {
        case (.failure(let a), .failure(let b)): #expect(a == b, "\(text)")
        default: Issue.record("both must fail alike for \(text): fast \(fast), full \(full)")
        }
    }

    /// The 512-level bound counts from the document root in both: the fast path's own containers (document,
    /// credentials array, entry) count too (review 3, D2).
    @Test func agreesOnNestingDepth() {
        let id = CredentialID(app: "x", profile: "p")
        let good = "{\"app\": \"x\", \"profile\": \"p\", \"api_key\": \"k\"}"
        func nested(_ levels: Int) -> String {
            String(repeating: "[", count: levels) + String(repeating: "]", count: levels)
        }
        // Top level: the document object is level 1, so 511 arrays fit and 512 do not.
        // In an entry: document, credentials, entry are levels 1-3, so 509 arrays fit and 510 do not.
        let cases: [(String, Bool)] = [
            ("{\"x\": \(nested(511)), \"version\": 1, \"credentials\": [\(good)]}", true),
            ("{\"x\": \(nested(512)), \"version\": 1, \"credentials\": [\(good)]}", false),
            (
                "{\"version\": 1, \"credentials\": [{\"app\": \"x\", \"profile\": \"p\", \"api_key\": \"k\", \"e\": \(nested(509))}]}",
                true
            ),
            (
                "{\"version\": 1, \"credentials\": [{\"app\": \"x\", \"profile\": \"p\", \"api_key\": \"k\", \"e\": \(nested(510))}]}",
                false
            ),
            (
                "{\"version\": 1, \"credentials\": [{\"app\": \"y\", \"profile\": \"p\", \"api_key\": \"k\", \"scopes\": \(nested(510))}, \(good)]}",
                false
            ),
        ]
        for (text, valid) in cases {
            let (fast, full) = both(text, id)
            switch (fast, full) {
            case (.success(let a), .success(let b)):
                #expect(valid, "both accepted an over-deep document")
                #expect(a == b)
                #expect(a?.secret.reveal() == "k")
            case (.failure(let a), .failure(let b)):
                #expect(!valid, "both refused \(a)")
                #expect(a == b)
                #expect(a.message.contains("nesting deeper than 512 levels"))
            default: Issue.record("fast \(fast) and full \(full) disagree")
            }
        }
    }

    /// A repeated field names the file and the field, never a value; many unknown fields are checked in O(n).
    @Test func duplicateFieldsNameTheField() throws {
        func message(_ text: String) -> String? {
            let (fast, full) = both(text, CredentialID(app: "x", profile: "p"))
            guard case .failure(let a) = fast, case .failure(let b) = full, a == b else { return nil }
            return a.message
        }
        let entry =
            "{\"app\": \"x\", \"profile\": \"p\", \"api_key\": \"rfx_SECRET_one\", \"api_key\": \"rfx_SECRET_two\"}"
        #expect(
            message("{\"version\": 1, \"credentials\": [\(entry)]}")
                == "/f: credentials[0].api_key appears more than once. The file was left untouched; fix or move it.")
        #expect(
            message("{\"version\": 1, \"credentials\": [], \"version\": 1}")
                == "/f: \"version\" appears more than once. The file was left untouched; fix or move it.")
        #expect(
            message(
                "{\"version\": 1, \"credentials\": [{\"app\": \"x\", \"profile\": \"p\", \"api_key\": \"k\", \"n\\n\": 1, \"n\\n\": 2}]}"
            )
                == "/f: credentials[0]: a field whose name is not shown (it may be a key) appears more than once. The file "
                + "was left untouched; fix or move it.")
        // A key pasted as a field name is not echoed (review 3, D4), in the entry or at the top level.
        #expect(
            message(
                "{\"version\": 1, \"credentials\": [{\"app\": \"x\", \"profile\": \"p\", \"api_key\": \"k\", \"rfx_SEKRIT9q8w7e\": 1, \"rfx_SEKRIT9q8w7e\": 2}]}"
            )
                == "/f: credentials[0]: a field whose name is not shown (it may be a key) appears more than once. The file "
                + "was left untouched; fix or move it.")
        #expect(
            message("{\"version\": 1, \"credentials\": [], \"rfx_SEKRIT9q8w7e\": 1, \"rfx_SEKRIT9q8w7e\": 2}")
                == "/f: a field whose name is not shown (it may be a key) appears more than once. The file was left "
                + "untouched; fix or move it.")
        let many = (0..<5000).map { "\"f\($0)\": 1" }.joined(separator: ", ")
        let ok =
            "{\"version\": 1, \"credentials\": [{\"app\": \"x\", \"profile\": \"p\", \"api_key\": \"k\", \(many)}]}"
        let (fast, full) = both(ok, CredentialID(app: "x", profile: "p"))
        #expect(try fast.get()?.secret.reveal() == "k")
        #expect(try full.get()?.secret.reveal() == "k")
        #expect(
            message(String(ok.dropLast(3)) + ", \"f4999\": 2}]}")
                == "/f: credentials[0][\"f4999\"] appears more than once. The file was left untouched; fix or move it.")
    }

    @Test func invalidUTF8AnywhereIsAnError() {
        var bytes = Array(
            "{\"version\": 1, \"credentials\": [{\"app\": \"x\", \"profile\": \"p\", \"api_key\": \"k\", \"account\": \"ab\"}]}"
                .utf8)
        for bad: [UInt8] in [[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]] {
            var copy = bytes
            let at = copy.lastIndex(of: UInt8(ascii: "b"))!
            copy.replaceSubrange(at...at, with: bad)
            #expect(throws: KeywayError.self) {
                try CredentialDocument.credential(CredentialID(app: "x", profile: "p"), parsing: copy, source: "/f")
            }
        }
        bytes.removeAll()
    }
}
