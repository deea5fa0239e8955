import Foundation
import KeywayTestSupport
import Testing

/// Issue 16: `keyway run` with several apps, env files and references, `--pristine`, the unlock material withheld.
@Suite struct RunReferenceTests {
    static let reflexKey = "rfx_run_several_0123456789"
    static let toolKey = "tool_key_abcdefghij0123"
    static let prodKey = "rfx_run_prod_profile_98765"

    /// A plaintext sandbox with reflex (default and prod) and `tool` keys stored. Output of `run` is not masked here
    /// (KEYWAY_MASK=0): these tests check what CMD's environment holds.
    static func sandbox() throws -> Sandbox {
        let sandbox = try Sandbox(backend: "plaintext")
        sandbox.environment["KEYWAY_MASK"] = "0"
        try #require(try sandbox.run(["login", "reflex", "--api-key", reflexKey]).status == 0)
        try #require(try sandbox.run(["login", "reflex", "--profile", "prod", "--api-key", prodKey]).status == 0)
        try #require(
            try sandbox.run(["login", "tool", "--api-key", toolKey, "--account", "ops@example.com"]).status == 0)
        return sandbox
    }

    static func printing(_ names: [String]) -> [String] {
        ["/bin/sh", "-c", names.map { "printf '%s=%s\\n' \($0) \"${\($0)-<unset>}\"" }.joined(separator: ";")]
    }

    @Test func severalAppsEachInTheirVariable() throws {
        let s = try Self.sandbox()
        let run = try s.run(
            ["run", "reflex", "tool=TOOL_TOKEN", "--"] + Self.printing(["REFLEX_API_KEY", "TOOL_TOKEN"]))
        #expect(run.status == 0, "\(run)")
        #expect(run.stdout == "REFLEX_API_KEY=\(Self.reflexKey)\nTOOL_TOKEN=\(Self.toolKey)\n", "\(run)")
    }

    @Test func aMissingKeyFailsBeforeTheCommandWithEachNotFoundMessage() throws {
        let s = try Self.sandbox()
        let marker = s.root + "/ran"
        let run = try s.run(["run", "reminix", "fluxloop", "reflex", "--", "/bin/sh", "-c", "touch \(marker)"])
        #expect(run.status == 1, "\(run)")
        #expect(!FileManager.default.fileExists(atPath: marker), "CMD must not start")
        let reflowMessage = try s.run(["get", "reminix"]).stderr
        let fluxMessage = try s.run(["get", "fluxloop"]).stderr
        #expect(run.stderr.contains(reflowMessage.trimmingCharacters(in: .newlines)), "\(run)")
        #expect(run.stderr.contains(fluxMessage.trimmingCharacters(in: .newlines)), "\(run)")
    }

    @Test func envFileCases() throws {
        let s = try Self.sandbox()
        let file = s.root + "/.env.keyway"
        let text =
            [
                "# a comment", "", "export A=plain value  # trailing comment", "B='single $X # kept'",
                "C=\"double \\\"q\\\" \\\\ \\n end\"", "D=a=b=c", "E=keyway://reflex", "F=keyway://reflex/prod",
                "G=keyway://tool#account", "  H = spaced  ", "I=x#not-a-comment", "J=\"multi", "line\"", "K=",
            ].joined(separator: "\r\n") + "\r\n"
        try makeFile(file, text, mode: 0o644)
        let names = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K"]
        let run = try s.run(["run", "--env-file", file, "--"] + Self.printing(names))
        #expect(run.status == 0, "\(run)")
        let expected = [
            "A=plain value", "B=single $X # kept", "C=double \"q\" \\ \n end", "D=a=b=c", "E=\(Self.reflexKey)",
            "F=\(Self.prodKey)", "G=ops@example.com", "H=spaced", "I=x#not-a-comment", "J=multi\nline", "K=",
        ]
        #expect(run.stdout == expected.joined(separator: "\n") + "\n", "\(run)")
    }

    /// Review finding: a NUL in a value reached CMD cut short, silently. It is refused, naming the line.
    @Test func aNulInAValueIsRefused() throws {
        let s = try Self.sandbox()
        let file = s.root + "/nul.env"
        try makeFile(file, "OK=1\nTOKEN=\"abc\u{0}def\"\n")
        let run = try s.run(["run", "--env-file", file, "--", "/bin/true"])
        #expect(run.status == 2 && run.stderr.contains("Line 2") && run.stderr.contains("NUL"), "\(run)")
        #expect(!run.stderr.contains("def"), "\(run)")
    }

    @Test func malformedEnvFileNamesTheLineNotTheValue() throws {
        let s = try Self.sandbox()
        let file = s.root + "/bad.env"
        try makeFile(file, "OK=1\nnot a line sk_secretvalue\n")
        let run = try s.run(["run", "--env-file", file, "--", "/bin/true"])
        #expect(run.status == 2, "\(run)")
        #expect(run.stderr.lowercased().contains("line 2"), "\(run)")
        #expect(!run.stderr.contains("sk_secretvalue"), "\(run)")
    }

    @Test func inheritedReferencesAreResolved() throws {
        let s = try Self.sandbox()
        let run = try s.run(
            ["run", "--"] + Self.printing(["DEPLOY_KEY", "PLAIN"]),
            env: ["DEPLOY_KEY": "keyway://reflex/prod", "PLAIN": "keyway-not-a-reference"])
        #expect(run.status == 0, "\(run)")
        #expect(run.stdout == "DEPLOY_KEY=\(Self.prodKey)\nPLAIN=keyway-not-a-reference\n", "\(run)")
    }

    @Test func anUnresolvableReferenceIsAnErrorNamingTheVariable() throws {
        let s = try Self.sandbox()
        let marker = s.root + "/ran"
        for (value, status) in [
            ("keyway://reflex/staging", Int32(1)), ("keyway://reflex/a/b", 2), ("keyway://", 2),
            ("keyway://reflex#password", 2), ("keyway://reflex#organization", 1),
        ] {
            let run = try s.run(["run", "--", "/bin/sh", "-c", "touch \(marker)"], env: ["MY_SECRET_VAR": value])
            #expect(run.status == status, "\(value): \(run)")
            #expect(run.stderr.contains("MY_SECRET_VAR"), "\(value): \(run)")
            #expect(!FileManager.default.fileExists(atPath: marker), "\(value): CMD must not start")
        }
        let file = s.root + "/e.env"
        try makeFile(file, "# x\nTOKEN=keyway://nosuchapp\n")
        let run = try s.run(["run", "--env-file", file, "--", "/bin/sh", "-c", "touch \(marker)"])
        #expect(run.status == 1, "\(run)")
        #expect(run.stderr.contains("TOKEN") && run.stderr.contains("line 2"), "\(run)")
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test func pristineKeepsOnlyInjectedAndBasicVariables() throws {
        let s = try Self.sandbox()
        let run = try s.run(
            ["run", "reflex", "--pristine", "--", "/usr/bin/env"],
            env: ["USER": "u", "TERM": "dumb", "OTHER": "x", "REF": "keyway://reflex/missing"])
        #expect(run.status == 0, "\(run)")
        let names = Set(run.stdout.split(separator: "\n").map { String($0.split(separator: "=")[0]) })
        #expect(names == ["PATH", "HOME", "USER", "LANG", "TERM", "REFLEX_API_KEY"], "\(run)")
    }

    @Test func unlockMaterialIsAbsentFromTheCommand() throws {
        let s = try Self.sandbox()
        let env = [
            "KEYWAY_VAULT_KEY": "vaultkeymaterial", "KEYWAY_PASSPHRASE": "passphrase1",
            "KEYWAY_VAULT_KEY_FILE": "/nonexistent/key", "KEYWAY_NEW_PASSPHRASE": "passphrase2",
            // The OpenBao backend's token (each source) and the files naming its AppRole and offline-copy secrets.
            "BAO_TOKEN": "s.baotoken", "VAULT_TOKEN": "s.vaulttoken",
            "KEYWAY_OPENBAO_ROLE_ID_FILE": "/nonexistent/role",
            "KEYWAY_OPENBAO_SECRET_ID_FILE": "/nonexistent/secret",
            "KEYWAY_OPENBAO_CACHE_KEY_FILE": "/nonexistent/cache",
        ]
        for extra in [[], ["--pristine"]] {
            let run = try s.run(["run", "reflex"] + extra + ["--", "/bin/cat", "/proc/self/environ"], env: env)
            #expect(run.status == 0, "\(run)")
            #expect(run.stdout.contains("REFLEX_API_KEY=\(Self.reflexKey)"), "\(run)")
            for name in env.keys { #expect(!run.stdout.contains(name), "\(name): \(run)") }
        }
    }
}

/// Issue 16: `keyway inject`.
@Suite struct InjectTests {
    static let template =
        "url: https://api.example.com\nkey: {{ keyway://reflex }}\nprod: {{keyway://reflex/prod}}\n"
        + "who: {{ keyway://tool#account }}\nleft: {{ not a reference }}\n"
    static var filled: String {
        "url: https://api.example.com\nkey: \(RunReferenceTests.reflexKey)\nprod: \(RunReferenceTests.prodKey)\n"
            + "who: ops@example.com\nleft: {{ not a reference }}\n"
    }

    @Test func toStandardOutputAndToA0600File() throws {
        let s = try RunReferenceTests.sandbox()
        let input = s.root + "/config.tmpl"
        try makeFile(input, Self.template, mode: 0o644)
        let out = try s.run(["inject", "-i", input])
        #expect(out.status == 0, "\(out)")
        #expect(out.stdout == Self.filled, "\(out)")
        let target = s.root + "/config.yml"
        let written = try s.run(["inject", "-i", input, "-o", target], umask: 0o022)
        #expect(written.status == 0, "\(written)")
        #expect(try String(contentsOfFile: target, encoding: .utf8) == Self.filled)
        let mode = try FileManager.default.attributesOfItem(atPath: target)[.posixPermissions] as? Int
        #expect(mode == 0o600, "mode \(String(mode ?? 0, radix: 8))")
        // Replaced, not appended; still 0600 when the old file was 0644.
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: target)
        #expect(try s.run(["inject", "-i", input, "-o", target]).status == 0)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == Self.filled)
        #expect(try FileManager.default.attributesOfItem(atPath: target)[.posixPermissions] as? Int == 0o600)
    }

    @Test func refusedInAGitWorkTreeThatDoesNotIgnoreIt() throws {
        let s = try RunReferenceTests.sandbox()
        let repository = s.root + "/repo"
        try GitFixture.initialize(repository)
        try GitFixture.write(repository, ".gitignore", "/ignored.yml\n")
        try GitFixture.write(repository, "tracked.yml", "old\n")
        try GitFixture.commitAll(repository, "first")
        let input = s.root + "/config.tmpl"
        try makeFile(input, Self.template)
        for name in ["new.yml", "tracked.yml"] {
            let target = repository + "/" + name
            for env in [[:], ["KEYWAY_NO_GIT_WARNING": "1"]] {
                let run = try s.run(["inject", "-i", input, "-o", target], env: env)
                #expect(run.status == 2, "\(name): \(run)")
                #expect(run.stderr.contains("--force") && run.stderr.contains(repository), "\(name): \(run)")
                #expect(!run.stderr.contains(RunReferenceTests.reflexKey))
            }
            let content = try? String(contentsOfFile: target, encoding: .utf8)
            #expect(content == (name == "new.yml" ? nil : "old\n"), "\(name) untouched")
            let forced = try s.run(["inject", "-i", input, "-o", target, "--force"])
            #expect(forced.status == 0, "\(forced)")
            #expect(try String(contentsOfFile: target, encoding: .utf8) == Self.filled)
        }
        let ignored = try s.run(["inject", "-i", input, "-o", repository + "/ignored.yml"])
        #expect(ignored.status == 0, "\(ignored)")
    }

    /// Review finding: a tracked symbolic link to an ignored file passed the git check (asked about the target) and
    /// was then replaced, in the work tree, by a file of keys. A link is refused, with or without --force.
    @Test func aSymbolicLinkIsRefused() throws {
        let s = try RunReferenceTests.sandbox()
        let repository = s.root + "/repo"
        try GitFixture.initialize(repository)
        try GitFixture.write(repository, ".gitignore", "/cache/\n")
        try FileManager.default.createDirectory(atPath: repository + "/cache", withIntermediateDirectories: true)
        try makeFile(repository + "/cache/app.env", "old\n")
        try FileManager.default.createSymbolicLink(
            atPath: repository + "/app.env", withDestinationPath: "cache/app.env")
        try GitFixture.commitAll(repository, "a tracked link")
        let input = s.root + "/config.tmpl"
        try makeFile(input, Self.template)
        for extra in [[], ["--force"]] {
            let run = try s.run(["inject", "-i", input, "-o", repository + "/app.env"] + extra)
            #expect(run.status == 2 && run.stderr.contains("symbolic link"), "\(run)")
            #expect(!run.stderr.contains(RunReferenceTests.reflexKey))
            let link = try FileManager.default.destinationOfSymbolicLink(atPath: repository + "/app.env")
            #expect(link == "cache/app.env", "the link is still a link")
            #expect(try String(contentsOfFile: repository + "/cache/app.env", encoding: .utf8) == "old\n")
        }
    }

    @Test func anUnresolvableReferenceWritesNothing() throws {
        let s = try RunReferenceTests.sandbox()
        let input = s.root + "/t.tmpl"
        try makeFile(input, "a\nb: {{ keyway://reflex/staging }}\nc: {{ keyway://reflex#nope }}\n")
        let target = s.root + "/out"
        let run = try s.run(["inject", "-i", input, "-o", target])
        #expect(run.status == 2, "\(run)")
        #expect(run.stderr.lowercased().contains("line 3"), "\(run)")
        #expect(!FileManager.default.fileExists(atPath: target))
        try makeFile(input, "a\nb: {{ keyway://reflex/staging }}\n")
        let missing = try s.run(["inject", "-i", input, "-o", target])
        #expect(missing.status == 1, "\(missing)")
        #expect(missing.stderr.contains("line 2"), "\(missing)")
        #expect(!FileManager.default.fileExists(atPath: target))
    }
}
