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
        let wrongType = "{\"version\":1,\"credentials\":[{\"app\":\"a\",\"profile\":\"p\",\"api_key\":\"k\",\"expires\":\"\(raw)\"}]}"
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
        // 28 characters: 9 may show, so even a known prefix is cut.
        #expect(Masking.mask("flux_prod_xyz789abcdefghijkl", knownPrefix: "flux_prod_") == "flux_pro...l")
        #expect(Masking.mask("flux_prod_xyz789abcdefghijklmnopqr", knownPrefix: "flux_prod_") == "flux_prod_...r")
    }
}

extension String {
    func components(separatedBy separator: String) -> [String] {
        split(separator: separator, omittingEmptySubsequences: false).map(String.init)
    }
}
