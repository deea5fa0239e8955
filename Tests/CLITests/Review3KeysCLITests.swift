import Foundation
import KeywayCore
import Testing

// Regression tests for review 3 of issue 10: D2, D4, D5, D7, D8, D9 through the built binary.

private let goodKey = "rfx_q9fK2mQ7xLp4abcdefgh"
private let secretName = "rfx_SECRETq9fK2mQ7xLp4"

/// Runs `script` under /bin/sh with `$0` the keyway binary, so a test can hand it bytes that are not valid UTF-8.
private func shell(_ s: Sandbox, _ script: String) throws -> RunResult {
    try s.run(["-c", script, keywayBinary], binary: "/bin/sh")
}

@Suite struct Review3KeysCLITests {
    /// D2: get (fast path) and list (full decoder) refuse the same over-deep document.
    @Test func getAndListAgreeOnNestingDepth() throws {
        let s = try Sandbox(backend: "plaintext")
        let deep = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        try makeFile(
            s.credentialsFile,
            "{\"x\": \(deep), \"format\": \"keyway-credentials\", \"version\": 1, \"credentials\": ["
                + "{\"app\": \"reflex\", \"profile\": \"default\", \"api_key\": \"\(goodKey)\"}]}")
        for arguments in [["get", "reflex"], ["run", "reflex", "--", "true"], ["list"]] {
            let r = try s.run(arguments)
            #expect(r.status == 2, "\(arguments): \(r)")
            #expect(r.stderr.contains("nesting deeper than 512 levels"), "\(arguments): \(r)")
            #expect(!r.stdout.contains(goodKey))
        }
    }

    /// D4: a key typed as a profile or app name is never echoed.
    @Test func keyTypedAsANameIsNotEchoed() throws {
        let s = try Sandbox(backend: "plaintext")
        let runs: [[String]] = [
            ["get", "reflex", "--profile", secretName], ["run", "reflex", "--profile", secretName, "--", "true"],
            ["whoami", "reflex", "--profile", secretName], ["whoami", "reflex", "--profile", secretName, "--json"],
            ["resolve", "reflex", "--profile", secretName], ["resolve", "reflex", "--profile", secretName, "--json"],
            ["login", "reflex", "--profile", secretName, "--api-key", goodKey],
            ["logout", "reflex", "--profile", secretName], ["logout", "reflex", "--profile", secretName],
            ["get", secretName], ["run", secretName, "--", "true"], ["whoami", secretName], ["resolve", secretName],
            ["logout", secretName], ["status", secretName], ["help", secretName], ["help", "login", secretName],
        ]
        for arguments in runs {
            let r = try s.run(arguments)
            for part in [secretName, secretName.uppercased(), "SECRETq9fK2mQ7"] {
                #expect(!r.stdout.contains(part) && !r.stderr.contains(part), "\(arguments): \(r)")
            }
        }
        let get = try s.run(["get", secretName])
        #expect(get.stderr.contains(APIKeyRules.notShown), "\(get)")
        let json = try s.run(["whoami", "reflex", "--profile", secretName, "--json"])
        #expect(try JSON.parse(json.stdout)["profile"] == .string(APIKeyRules.notShown), "\(json)")
        // Ordinary names still print.
        for name in ["reflex", "default", "prod", "my-app", "team_a", "Reflex", "MyApp2", "keyway-cli-migrate-22930-2"]
        {
            #expect(APIKeyRules.shownName(name) == name)
        }
        for name in [
            secretName, "SECRETq9fK2mQ7xLp4", "0123456789abcdef0123", "sk-live", "GHP_abc", "caf\u{E9}", "a\u{1B}b",
        ] {
            #expect(APIKeyRules.shownName(name) == APIKeyRules.notShown, "\(name)")
        }
        let login = try s.run(["login", "reflex", "--profile", "team_a", "--api-key", goodKey])
        #expect(login.stdout.contains("reflex (profile team_a)"), "\(login)")
        let missing = try s.run(["get", "reflex", "--profile", "prod"])
        #expect(missing.stderr.contains("keyway login reflex --profile prod"), "\(missing)")
        let prodJSON = try s.run(["whoami", "reflex", "--profile", "prod", "--json"])
        #expect(try JSON.parse(prodJSON.stdout)["profile"] == .string("prod"), "\(prodJSON)")
    }

    /// D5: control characters in stored fields are escaped in text output; `get` prints the key as stored.
    @Test func controlCharactersInFieldsAreEscaped() throws {
        let s = try Sandbox(backend: "plaintext")
        let account = "me\u{1B}]0;PWN\u{7}\u{1B}[31mred\u{9B}2J"
        #expect(try s.run(["login", "reflex", "--api-key", goodKey, "--account", account]).status == 0)
        for arguments in [["list"], ["status"], ["status", "reflex"], ["whoami", "reflex"], ["list", "--json"]] {
            let r = try s.run(arguments)
            #expect(r.status == 0, "\(arguments): \(r)")
            #expect(
                !r.stdout.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 || $0.value == 0x9B },
                "\(arguments): \(r.stdout.debugDescription)")
            if !arguments.contains("--json") { #expect(r.stdout.contains("me\\x1b]0;PWN\\x07"), "\(arguments): \(r)") }
        }
        let get = try s.run(["get", "reflex"])
        #expect(get.stdout == goodKey + "\n")
        // Columns stay aligned: the escaped account is measured as printed.
        let lines = try s.run(["list"]).stdout.split(separator: "\n").map(String.init)
        func column(_ word: String, _ line: String) -> Int? {
            line.firstRange(of: word).map { line.distance(from: line.startIndex, to: $0.lowerBound) }
        }
        #expect(
            lines.count == 2 && column("BACKEND", lines[0]) != nil
                && column("BACKEND", lines[0]) == column("plaintext", lines[1]), "\(lines)")
    }

    /// D7: a key of combining marks shows at most a third of its scalars in list.
    @Test func maskOfCombiningMarksStaysWithinTheBound() throws {
        let s = try Sandbox(backend: "plaintext")
        let key = "rfx_abcdef" + String(repeating: "\u{301}", count: 3000)
        #expect(try s.run(["login", "reflex", "--api-key", key]).status == 0)
        let list = try s.run(["list", "--json"])
        guard case .array(let items)? = try JSON.parse(list.stdout)["credentials"] else {
            Issue.record("no credentials array: \(list)")
            return
        }
        let masked = items.first?["masked"]?.stringValue ?? ""
        #expect(!masked.isEmpty, "\(list)")
        #expect(masked.unicodeScalars.count <= 11, "\(masked.unicodeScalars.count) scalars")
    }

    /// D8: invalid UTF-8 in the key's variable or --api-key is refused, naming the place, never printing the key.
    @Test func invalidUTF8KeysAreRefused() throws {
        let s = try Sandbox(backend: "plaintext")
        let bad = "$(printf 'rfx_q9fK2mQ7\\377xLp4abcdefgh')"
        for (script, message) in [
            (
                "REFLEX_API_KEY=\"\(bad)\" exec \"$0\" get reflex",
                "The environment variable REFLEX_API_KEY is not valid UTF-8."
            ),
            (
                "REFLEX_API_KEY=\"\(bad)\" exec \"$0\" run reflex -- true",
                "The environment variable REFLEX_API_KEY is not valid UTF-8."
            ),
            ("exec \"$0\" get reflex --api-key \"\(bad)\"", "The key given with --api-key is not valid UTF-8."),
            ("exec \"$0\" get reflex --api-key=\"\(bad)\"", "The key given with --api-key is not valid UTF-8."),
            ("exec \"$0\" run reflex --api-key \"\(bad)\" -- true", "The key given with --api-key is not valid UTF-8."),
            ("exec \"$0\" login reflex --api-key \"\(bad)\"", "The key given with --api-key is not valid UTF-8."),
        ] {
            let r = try shell(s, script)
            #expect(r.status == 2, "\(script): \(r)")
            #expect(r.stderr == "Error: \(message)\n", "\(script): \(r)")
            #expect(!r.stdout.contains("xLp4") && !r.stderr.contains("xLp4"))
        }
        // After `--` the command's own arguments are its business.
        let after = try shell(
            s, "exec \"$0\" run reflex --api-key \(goodKey) -- /bin/sh -c 'exit 0' \"$(printf '\\377')\"")
        #expect(after.status == 0, "\(after)")
    }

    /// D9: a key file starting with a UTF-8 byte-order mark is read without it; invisible-only keys are refused at
    /// login.
    @Test func byteOrderMarkAtTheStartOfAKeyFileIsDropped() throws {
        let s = try Sandbox(backend: "plaintext")
        let path = s.root + "/key.txt"
        try makeFile(path, "\u{FEFF}" + goodKey + "\n")
        let get = try s.run(["get", "reflex", "-k", path])
        #expect(get.status == 0 && get.stdout == goodKey + "\n", "\(get)")
        try makeFile(path, goodKey + "\u{FEFF}\n")
        let inside = try s.run(["get", "reflex", "-k", path])
        #expect(inside.status == 2 && inside.stderr.contains("invisible formatting character"), "\(inside)")
        for key in [
            String(repeating: "\u{3164}", count: 6), String(repeating: "\u{2800}", count: 6),
            String(repeating: "\u{34F}", count: 4),
        ] {
            let login = try s.run(["login", "tool", "--api-key", key])
            #expect(
                login.status == 2 && login.stderr.contains("is only whitespace or invisible characters"), "\(login)")
        }
        let bidi = try s.run(["login", "tool", "--api-key", "rfx_abc\u{202E}def0123"])
        #expect(bidi.status == 2 && bidi.stderr.contains("invisible formatting character"), "\(bidi)")
    }
}
