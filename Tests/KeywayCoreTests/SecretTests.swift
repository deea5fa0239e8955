import KeywayCore
import Testing

@Suite struct RedactionTests {
    let raw = "rfx_S3cr3tValueThatMustNeverPrint42"
    var secret: Secret { Secret(raw) }

    @Test func description() {
        #expect(secret.description == "<redacted>")
        #expect(String(describing: secret) == "<redacted>")
    }

    @Test func debugDescription() {
        #expect(secret.debugDescription == "Secret(<redacted>)")
        #expect(String(reflecting: secret) == "Secret(<redacted>)")
    }

    @Test func interpolation() {
        #expect("key=\(secret)" == "key=<redacted>")
        #expect("\([secret, secret])" == "[Secret(<redacted>), Secret(<redacted>)]")
        #expect("\(Optional(secret) as Any)" == "Optional(Secret(<redacted>))")
    }

    @Test func dump() {
        var text = ""
        Swift.dump(secret, to: &text)
        #expect(!text.contains(raw))
        #expect(!text.contains("S3cr3t"))
        var credentialText = ""
        Swift.dump(Credential(id: CredentialID(app: "reflex"), secret: secret, account: "a@b.c"), to: &credentialText)
        #expect(!credentialText.contains("S3cr3t"), "dump of a Credential: \(credentialText)")
        #expect(credentialText.contains("a@b.c"))
    }

    @Test func mirrorHasNoChildren() {
        #expect(Mirror(reflecting: secret).children.isEmpty)
    }

    @Test func credentialDescriptionShowsOnlyMaskedKey() {
        let credential = Credential(id: CredentialID(app: "reflex", profile: "prod"), secret: secret, account: "me")
        let text = "\(credential) \(String(reflecting: credential))"
        #expect(!text.contains("S3cr3t"), "\(text)")
        #expect(text.contains(secret.masked))
    }

    /// What a logger would print: the same interpolation and `String(describing:)` paths, through a text stream.
    @Test func logLines() {
        struct Log: TextOutputStream {
            var lines = ""
            mutating func write(_ string: String) { lines += string }
        }
        var log = Log()
        print("resolved", secret, "for", CredentialID(app: "reflex"), to: &log)
        debugPrint(secret, to: &log)
        #expect(!log.lines.contains("S3cr3t"), "\(log.lines)")
    }

    @Test func errorsFromAFileWithASecretDoNotQuoteIt() throws {
        // A syntax error right after the key: the message gives a position, not the text around it.
        let text = "{\"version\":1,\"credentials\":[{\"app\":\"a\",\"profile\":\"p\",\"api_key\":\"\(raw)\" x}]}"
        do {
            _ = try CredentialDocument(parsing: Array(text.utf8), source: "/tmp/f.json")
            Issue.record("expected a parse error")
        } catch {
            #expect(error.code == .malformedFile)
            #expect(!error.message.contains("S3cr3t"), "\(error.message)")
            #expect(!"\(error)".contains("S3cr3t"))
            #expect(error.message.contains("line 1, column"), "\(error.message)")
        }
        // A key of the wrong type: the message names the field, not the value.
        let wrongType =
            "{\"version\":1,\"credentials\":[{\"app\":\"a\",\"profile\":\"p\",\"api_key\":\"k\",\"expires\":\"\(raw)\"}]}"
        do {
            _ = try CredentialDocument(parsing: Array(wrongType.utf8), source: "/tmp/f.json")
            Issue.record("expected a field error")
        } catch {
            #expect(error.message.contains("credentials[0].expires"), "\(error.message)")
            #expect(!error.message.contains("S3cr3t"))
        }
    }

    @Test func reveal() {
        #expect(secret.reveal() == raw)
        #expect(secret == Secret(raw))
        #expect(secret != Secret(raw + "x"))
        #expect(secret != Secret("rfx_S3cr3tValueThatMustNeverPrint43"))
    }
}

@Suite struct MaskingTests {
    @Test(arguments: [
        ("rfx_9f8e7d6c5b4a39281706f5e4d3c2b1a0", "rfx_...b1a0"),
        ("flux_dev_abc123def456ghi789jkl012mno34", "flux_dev_...o34"),
        ("reminix_sk_0123456789abcdefghijklmnopqrst", "reminix_sk_...st"),
        ("rp_4c1e9a7b2d8f3e6a0b5c", "rp_...0b5c"),
        ("0123456789abcdef0123456789abcdef", "0123...cdef"),
        ("sk-proj-Aa1Bb2Cc3Dd4Ee5Ff6Gg7Hh8", "sk-proj-...h8"),
        ("short", "***"),
        ("", "***"),
        ("abcdef", "a...f"),
    ])
    func masks(key: String, expected: String) {
        #expect(Masking.mask(key) == expected)
    }

    @Test func neverMoreThanAThird() {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz_-0123456789")
        var generator = SystemRandomNumberGenerator()
        for length in 0..<120 {
            for _ in 0..<20 {
                let key = String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
                let masked = Masking.mask(key)
                let shown = masked == "***" ? 0 : masked.count - 3
                #expect(shown <= length / 3, "\(length): \(masked)")
                if shown > 0 {
                    let parts = masked.components(separatedBy: "...")
                    #expect(key.hasPrefix(parts[0]) && key.hasSuffix(parts[1]))
                }
            }
        }
    }

    @Test func knownPrefix() {
        // A known prefix is shown whole (it is the same for every key of its kind); of the 18 characters after it, a
        // 4-character tail.
        #expect(Masking.mask("flux_prod_xyz789abcdefghijkl", knownPrefix: "flux_prod_") == "flux_prod_...ijkl")
        #expect(Masking.mask("flux_prod_xyz789abcdefghijklmnopqr", knownPrefix: "flux_prod_") == "flux_prod_...opqr")
    }
}

extension String {
    func components(separatedBy separator: String) -> [String] {
        split(separator: separator, omittingEmptySubsequences: false).map(String.init)
    }
}

@Suite struct APIKeyRulesTests {
    @Test(arguments: [
        ("", APIKeyRules.Violation.empty), (" ", .blank), ("   ", .blank), ("\u{200B}", .blank),
        ("\u{A0}\u{FEFF}", .blank),
        ("a\u{0}b", .controlCharacter), ("a\nb", .controlCharacter), ("a\rb", .controlCharacter),
        ("a\tb", .controlCharacter), ("a\u{7F}b", .controlCharacter), ("a\u{85}b", .controlCharacter),
        ("a\u{9F}b", .controlCharacter), ("a\u{2028}b", .controlCharacter), ("\u{200B}\n", .controlCharacter),
        (String(repeating: "k", count: APIKeyRules.maximumBytes + 1), .tooLong),
        (String(repeating: "é", count: APIKeyRules.maximumBytes / 2) + "k", .tooLong),
    ])
    func violations(key: String, violation: APIKeyRules.Violation) {
        #expect(APIKeyRules.violation(key) == violation)
    }

    @Test(arguments: [
        "rfx_9f8e7d6c5b4a", "a", "key with spaces", " leading", "hangul\u{3164}filler", "ünïcödé",
        String(repeating: "k", count: APIKeyRules.maximumBytes),
        String(repeating: "é", count: APIKeyRules.maximumBytes / 2),
    ])
    func usable(key: String) {
        #expect(APIKeyRules.violation(key) == nil)
    }

    @Test func invisibleCharacters() {
        #expect(APIKeyRules.invisibleCharacters("rfx_abc") == nil)
        #expect(APIKeyRules.invisibleCharacters("rfx abc") == nil, "an inner ASCII space can be seen")
        #expect(APIKeyRules.invisibleCharacters("rfx_abc ") == "trailing whitespace")
        #expect(APIKeyRules.invisibleCharacters(" rfx_abc ") == "leading whitespace and trailing whitespace")
        #expect(
            APIKeyRules.invisibleCharacters("rfx\u{FE0F}abc")
                == "an invisible character (such as U+3164, U+034F or a variation selector)")
        #expect(APIKeyRules.invisibleCharacters("rfx\u{2060}abc") != nil)
        #expect(APIKeyRules.invisibleCharacters("rfx\u{A0}abc") == "a non-breaking or other non-ASCII space")
        #expect(
            APIKeyRules.invisibleCharacters("\u{3164}rfx\u{A0}abc ")
                == "trailing whitespace, a non-breaking or other non-ASCII space and an invisible character (such as "
                + "U+3164, U+034F or a variation selector)")
    }

    @Test func quotable() {
        for value in ["vault9", "2026-02-30", "colour", "scopes_feild", "--api-kye", "logn"] {
            #expect(APIKeyRules.isQuotable(value), "\(value)")
        }
        for value in ["rfx_S3cret", "rfx_secret12345", "", "a b", "Vault", String(repeating: "a", count: 25)] {
            #expect(!APIKeyRules.isQuotable(value), "\(value)")
        }
    }

    /// An entry whose key breaks the rules is an error when read or listed, in the full decoder and the
    /// single-credential scanner alike; the other entries stay readable, and the entry is kept and can be removed.
    @Test(arguments: ["", "   ", "a\\u0000b", "a\\nb", "a\\u0085b"])
    func documentEntriesObeyTheRules(key: String) throws {
        let text = """
            {"format": "keyway-credentials", "version": 1, "credentials": [
              {"app": "a", "profile": "default", "api_key": "fine_0123456789"},
              {"app": "b", "profile": "default", "api_key": "\(key)"}
            ]}
            """
        let bytes = Array(text.utf8)
        var document = try CredentialDocument(parsing: bytes, source: "f.json")
        let a = CredentialID(app: "a"), b = CredentialID(app: "b")
        var full: KeywayError?
        do { _ = try document.usableCredential(b) } catch { full = error }
        #expect(
            full?.message.hasPrefix("f.json: credentials[1].api_key (b (profile default)) holds a key that ") == true
                && full?.message.hasSuffix(
                    "The file was left untouched; remove the entry with `keyway logout b` (the other credentials stay "
                        + "usable) or fix the file.") == true,
            "\(String(describing: full))")
        #expect(full?.code == .malformedFile)
        #expect(throws: KeywayError.self) { try document.usableCredentials() }
        #expect(throws: KeywayError.self) { try document.usableCredentials(app: "b") }
        #expect(try document.usableCredentials(app: "a").map(\.id) == [a])
        #expect(try document.usableCredential(a)?.secret.reveal() == "fine_0123456789")
        var scanned: KeywayError?
        do { _ = try CredentialDocument.credential(b, parsing: bytes, source: "f.json") } catch { scanned = error }
        #expect(scanned == full, "the scanner gives the full decoder's error")
        #expect(
            try CredentialDocument.credential(a, parsing: bytes, source: "f.json")?.secret.reveal() == "fine_0123456789"
        )
        // Kept when the file is rewritten; removing the entry clears the error.
        #expect(try CredentialDocument(parsing: document.serialized(), source: "f.json") == document)
        document.remove(b)
        #expect(try document.usableCredentials().map(\.id) == [a])
    }
}

@Suite struct MaskingKnownPrefixTests {
    @Test(arguments: [
        ("reminix_pat_Ab12Cd34Ef56Gh78Ij90k", "reminix_pat_", "reminix_pat_...j90k"),
        ("reminix_sk_0123456789abcdefghijklmnopqrst", "reminix_sk_", "reminix_sk_...qrst"),
        ("flux_prod_Ab12Cd34Ef56Gh7j", "flux_prod_", "flux_prod_...Gh7j"),
        ("sk-proj-Aa1Bb2Cc3Dd4Ee5Ff6Gg7Hh8", "sk-proj-", "sk-proj-...7Hh8"),
        ("rfx_abcdefghi", "rfx_", "rfx_...ghi"),  // 9 own characters: a third
        ("rfx_abcdef", "rfx_", "rfx_...ef"),  // 6: 2
        ("rfx_abcde", "rfx_", "***"),  // 5: too few to show any
        ("reminix_pat_", "reminix_pat_", "***"),
        ("rfx_" + String(repeating: "x", count: 40) + "WXYZ", "rfx_", "rfx_...WXYZ"),
    ])
    func masks(key: String, prefix: String, expected: String) {
        #expect(Masking.mask(key, knownPrefix: prefix) == expected)
    }

    /// The known prefix is shown whole; of the rest, never more than a third and never more than 4.
    @Test func ownCharactersBound() {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ_-0123456789")
        var generator = SystemRandomNumberGenerator()
        for prefix in ["rfx_", "reminix_pat_", "flux_prod_"] {
            for own in 0..<60 {
                let key = prefix + String((0..<own).map { _ in alphabet.randomElement(using: &generator)! })
                let masked = Masking.mask(key, knownPrefix: prefix)
                if masked == "***" {
                    #expect(own < 6, "\(key)")
                    continue
                }
                #expect(masked.hasPrefix(prefix + "..."), "\(key): \(masked)")
                let tail = masked.dropFirst(prefix.count + 3)
                #expect(key.hasSuffix(tail) && tail.count <= min(4, own / 3) && tail.count >= 2, "\(key): \(masked)")
            }
        }
    }

    /// A prefix the key does not start with, or one longer than 16 characters, is not trusted.
    @Test func untrustedPrefix() {
        let key = "abcdefghijklmnopqrstuvwxyz0123456789"
        #expect(Masking.mask(key, knownPrefix: "zz_") == Masking.mask(key))
        #expect(Masking.mask(key, knownPrefix: "abcdefghijklmnopqrstuvwxyz") == Masking.mask(key))
    }

    @Test func specMasksWithItsPrefixes() {
        let reminix = AppSpec(
            name: "reminix", environmentVariables: [], expectedPrefixes: ["reminix_sk_", "reminix_ct_", "reminix_pat_"])
        #expect(reminix.masked(Secret("reminix_pat_Ab12Cd34Ef56Gh78k")) == "reminix_pat_...h78k")
        // Without the spec, the whole key's third: the 12-character word prefix does not fit.
        #expect(AppSpec.defaultSpec(for: "x").masked(Secret("reminix_pat_Ab12Cd34Ef56Gh78k")) == "remi...h78k")
    }
}
