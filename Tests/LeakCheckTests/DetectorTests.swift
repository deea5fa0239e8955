import KeywayCore
import KeywayTestSupport
import Testing

@testable import KeywayLeakCheck

let scanner = ContentScanner(rules: SecretRule.appRules(AppCatalog.builtIn) + SecretRule.wellKnown)

func ruleIDs(_ text: String) -> [String] { scanner.scan(Array(text.utf8)).map(\.rule.id) }

@Suite("LeakCheck detectors")
struct DetectorTests {
    @Test("every well-known format and every app prefix fires, with its rule")
    func formats() {
        let cases: [(String, String)] = [
            (Planted.github, "github-token"), (Planted.githubFineGrained, "github-fine-grained-token"),
            (Planted.aws, "aws-access-key-id"), (Planted.slack, "slack-token"), (Planted.stripe, "stripe-live-key"),
            (Planted.reflex, "reflex-api-key"), (Planted.reactor, "reactor-api-key"),
            (Planted.reminix, "reminix-api-key"),
            (Planted.flux, "fluxloop-api-key"), (Planted.privateKey, "private-key"),
        ]
        for (key, rule) in cases {
            #expect(ruleIDs("x = \"\(key)\"\n") == [rule], "\(rule)")
            #expect(ruleIDs("KEY=\(key)") == [rule], "\(rule) after =")
        }
    }

    @Test("placeholders, documentation examples and identifiers do not fire")
    func placeholders() {
        let text = """
            export REFLEX_API_KEY=rfx_xxxxxxxx
            export REFLEX_API_KEY=rfx_xxxxxxxxxxxxxxxxxxxxxxxx
            export REFLEX_API_KEY=rfx_...
            "api_key": "rp_..."
            api_key = "your_key_here"
            key: rfx_your_key_here_please_replace
            aws_access_key_id = AKIAIOSFODNN7EXAMPLE
            > flux_dev_abc123def456ghi789jkl012mno34
            api_key: flux_dev_abc123...
            rp_handlerfunctionnamehere(x)
            def wrap_rfx_Z8kq2LmN4pR7sT1vW3xY5bC6(): pass
            ghp_tooShort123
            sk_live_EXAMPLEEXAMPLEEXAMPLEEXAMPLE
            -----BEGIN RSA PRIVATE KEY-----
            ...
            -----END RSA PRIVATE KEY-----
            rfx_0000000000000000000000
            """
        #expect(ruleIDs(text) == [])
    }

    @Test("a key glued to a longer word is not a key")
    func boundaries() {
        #expect(ruleIDs("x" + Planted.github) == [])
        #expect(ruleIDs(Planted.github + "Q") == [])
        #expect(ruleIDs(Planted.aws + "9") == [])
    }

    @Test("line numbers, keyway:allow and masking")
    func lines() {
        let text = "a\nb\n\(Planted.github)\nc\n\(Planted.aws) # keyway:allow\n"
        let matches = scanner.scan(Array(text.utf8))
        #expect(matches.map(\.line) == [3, 5])
        #expect(matches.map(\.allowed) == [false, true])
        #expect(matches[0].masked == Masking.mask(Planted.github, knownPrefix: "ghp_"))
        #expect(!matches[0].masked.contains(String(Planted.github.dropFirst(4).prefix(12))))
    }

    @Test("a private key block is masked to its header")
    func privateKeyMask() {
        let matches = scanner.scan(Array(("\n\n" + Planted.privateKey).utf8))
        #expect(matches.count == 1)
        #expect(matches[0].line == 3)
        #expect(matches[0].masked.hasPrefix("-----BEGIN RSA PRIVATE KEY----- ..."))
        #expect(!matches[0].masked.contains("MIIE"))
    }

    @Test("values Keyway stores are matched by digest as whole tokens")
    func stored() {
        let value = "Zq8Wc3Lm5Nv7Bx1Ty9UaPo2"
        let matcher = StoredSecretMatcher(secrets: [("myapp/default (plaintext)", Secret(value))])
        let withStored = ContentScanner(rules: SecretRule.wellKnown, stored: matcher)
        let found = withStored.scan(Array("a\ntoken: '\(value)'\nno\(value)\n".utf8))
        #expect(found.map(\.line) == [2])
        #expect(found.first?.rule.id == "keyway-stored-key")
        #expect(found.first?.rule.name.contains("myapp/default") == true)
        // A key both stored and of a known format is reported once.
        let both = ContentScanner(
            rules: SecretRule.wellKnown, stored: StoredSecretMatcher(secrets: [("gh/default", Secret(Planted.github))]))
        #expect(both.scan(Array("k=\(Planted.github)\n".utf8)).count == 1)
    }

    @Test("binary content is recognised")
    func binary() {
        #expect(ContentScanner.isBinary([1, 2, 0, 3]))
        #expect(!ContentScanner.isBinary(Array("text".utf8)))
    }
}

@Suite("LeakCheck SHA-256, fingerprints, baseline, URIs")
struct PrimitiveTests {
    @Test("SHA-256 matches the FIPS 180-4 examples")
    func sha256() {
        #expect(SHA256.hex([UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(
            SHA256.hash(
                joining: Array("abcdbcdecdefdefg".utf8), [], Array("efghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
        #expect(
            SHA256.hex([UInt8](repeating: 0x61, count: 1000))
                == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    @Test("a fingerprint depends on rule, relative path and secret, not on the line or the repository's location")
    func fingerprint() {
        func finding(_ root: String, line: Int, secret: String = Planted.github, rule: String = "github-token")
            -> Finding
        {
            Finding(
                kind: .secret, rule: rule, severity: .error, path: root + "/src/a.py", repository: root, git: .tracked,
                line: line, masked: "m", message: "m", fix: "f", secret: Secret(secret))
        }
        let a = finding("/r1", line: 3)
        #expect(a.fingerprint == finding("/elsewhere/r2", line: 90).fingerprint)
        #expect(a.fingerprint != finding("/r1", line: 3, secret: Planted.aws).fingerprint)
        #expect(a.fingerprint != finding("/r1", line: 3, rule: "other").fingerprint)
        #expect(!a.fingerprint.contains(Planted.github))
        let baseline = Baseline(findings: [a, a])
        #expect(baseline.entries.count == 1)
        #expect(baseline.contains(finding("/r1", line: 40)))
        #expect(!baseline.contains(finding("/r1", line: 3, secret: Planted.aws)))
        #expect(!baseline.json().serialized().contains(Planted.github))
    }

    /// Fingerprints computed by the hand-written SHA-256 leak-check had before libsodium's, committed here: a
    /// baseline written by any earlier version keeps matching.
    @Test("fingerprints are byte-identical to the committed ones")
    func committedFingerprints() {
        let cases: [(rule: String, path: String, secret: String?, fingerprint: String)] = [
            (
                "github-token", "src/a.py", "ghp" + "_0123456789abcdefghijABCDEFGHIJ012345",
                "b4ec2e6336703c3445474bb9f5408dcfc55191b7d7e63f449f68fa7ea6d1664c"
            ),
            (
                "credentials-file", "config/.env", nil,
                "0ce82263f1f6b4bf38b1c6d6294b0361531bad9bf37865b2801895020af8f53a"
            ),
            (
                "stored-secret", "docs/clés é.md", "sk-" + "proj-Ünïcødé-key-0000",
                "6664309cc63b3b51ca84398acb7546922bfdda0c2d35b441ac9505c353f42b8d"
            ),
            (
                "aws-access-key", "/outside/any/repository.txt", "AKIA" + "IOSFODNN7EXAMPLE",
                "560837d3a3baf689ce8ef959f8cd0f32482f41b6cae53233c9796a694865fef8"
            ),
            ("x", "", "s", "c533af0a24d2193c9d385d4e26f776bb5b706b87f2ebca8c1342c9d4c2064b58"),
            (
                "long-path", "a/" + String(repeating: "b", count: 200) + "/c.txt", String(repeating: "k", count: 100),
                "16773a2def3e57c7d5def11dcd2eb69ea1c47f07309fe5351ab9fe63f64cdeb1"
            ),
        ]
        for c in cases {
            #expect(
                Finding.fingerprint(rule: c.rule, relativePath: c.path, secret: c.secret.map { Secret($0) })
                    == c.fingerprint, "\(c.rule) \(c.path)")
        }
        let finding = Finding(
            kind: .secret, rule: "github-token", severity: .error, path: "/r/src/a.py", repository: "/r",
            git: .tracked, line: 7, masked: "m", message: "m", fix: "f",
            secret: Secret("ghp" + "_0123456789abcdefghijABCDEFGHIJ012345"))
        #expect(
            Baseline(findings: [finding]).entries.map(\.fingerprint)
                == ["b4ec2e6336703c3445474bb9f5408dcfc55191b7d7e63f449f68fa7ea6d1664c"])
    }

    @Test("SHA-256 of a million bytes and of a 1 MiB input, split across many blocks")
    func sha256Long() {
        #expect(
            SHA256.hex([UInt8](repeating: 0x61, count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        let mebibyte = (0..<4096).flatMap { _ in (0...255).map { UInt8($0) } }
        #expect(mebibyte.count == 1 << 20)
        #expect(SHA256.hex(mebibyte) == "fbbab289f7f94b25736c58be46a994c441fd02552cc6022352e3d86d2fab7c83")
    }

    @Test("URIs are percent-encoded UTF-8")
    func uri() {
        #expect(uriEncode("my dir/clés.env") == "my%20dir/cl%C3%A9s.env")
        #expect(uriEncode("a-b_c.d~e/f") == "a-b_c.d~e/f")
    }

    @Test("entropy")
    func entropy() {
        #expect(Randomness.entropy(Array("aaaa".utf8)) == 0)
        #expect(Randomness.entropy(Array("abcd".utf8)) == 2)
    }
}
