import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

/// Runs `keyway leak-check` in the sandbox with git isolated from the machine's configuration.
private func leakCheck(_ sandbox: Sandbox, _ arguments: [String], env: [String: String] = [:]) throws -> RunResult {
    try sandbox.run(["leak-check"] + arguments, env: GitFixture.plainEnvironment.merging(env) { $1 })
}

/// No planted key in clear anywhere in the output.
private func expectNoKeyInClear(_ result: RunResult, sourceLocation: SourceLocation = #_sourceLocation) {
    for key in Planted.all {
        #expect(!result.stdout.contains(key), "stdout holds a key in clear", sourceLocation: sourceLocation)
        #expect(!result.stderr.contains(key), "stderr holds a key in clear", sourceLocation: sourceLocation)
    }
}

private func findings(_ result: RunResult) throws -> [JSON] {
    let json = try JSON.parse(result.stdout)
    guard case .array(let items)? = json["findings"] else { throw GitFixture.Failure(description: "no findings array") }
    return items
}

private func finding(_ items: [JSON], rule: String, path: String? = nil) -> JSON? {
    items.first { $0["rule"]?.stringValue == rule && (path == nil || $0["path"]?.stringValue == path) }
}

@Suite("LeakCheck CLI", .serialized)
struct LeakCheckCLITests {
    @Test("tracked, staged, untracked and ignored credentials files, keys in content, and every JSON field")
    func repositoryStates() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let root = sandbox.root + "/work/app"
        try Sys.mkdir(sandbox.root + "/work", 0o755)
        try GitFixture.initialize(root)
        try GitFixture.write(root, ".gitignore", ".env.local\n")
        try GitFixture.write(root, ".env", "REFLEX_API_KEY=\(Planted.reflex)\n", mode: 0o600)
        try GitFixture.write(root, "src/config.py", "import os\n\nTOKEN = '\(Planted.github)'\n")
        try GitFixture.commitAll(root)
        try GitFixture.write(root, "reflow.key", "nothing secret here\n", mode: 0o600)
        try GitFixture.git(["add", "reflow.key"], in: root)
        try GitFixture.write(root, "credentials.json", "{\"api_key\": \"\(Planted.reactor)\"}\n", mode: 0o600)
        try GitFixture.write(root, ".env.local", "AWS=\(Planted.aws)\n", mode: 0o600)
        let result = try leakCheck(sandbox, [sandbox.root + "/work", "--format", "json"])
        #expect(result.status == 1, "\(result)")
        expectNoKeyInClear(result)
        let items = try findings(result)

        let tracked = try #require(finding(items, rule: "credentials-file-tracked"))
        #expect(tracked["kind"]?.stringValue == "credentials-file")
        #expect(tracked["severity"]?.stringValue == "error")
        #expect(tracked["path"]?.stringValue == root + "/.env")
        #expect(tracked["repository"]?.stringValue == root)
        #expect(tracked["git"]?.stringValue == "tracked")
        #expect(tracked["line"] == .null)
        #expect(tracked["commit"] == .null)
        #expect(tracked["masked"] == .null)
        #expect(tracked["message"]?.stringValue?.contains("TRACKED") == true)
        #expect(tracked["fix"]?.stringValue?.contains("rm --cached -- .env") == true)
        #expect(tracked["fix"]?.stringValue?.contains("/.env") == true)

        let staged = try #require(finding(items, rule: "credentials-file-staged"))
        #expect(staged["path"]?.stringValue == root + "/reflow.key")
        #expect(staged["git"]?.stringValue == "staged")
        #expect(staged["severity"]?.stringValue == "error")

        let untracked = try #require(finding(items, rule: "credentials-file-untracked"))
        #expect(untracked["path"]?.stringValue == root + "/credentials.json")
        #expect(untracked["git"]?.stringValue == "untracked")
        #expect(untracked["severity"]?.stringValue == "warning")

        let ignored = try #require(finding(items, rule: "credentials-file-ignored"))
        #expect(ignored["path"]?.stringValue == root + "/.env.local")
        #expect(ignored["git"]?.stringValue == "ignored")
        #expect(ignored["severity"]?.stringValue == "info")

        let github = try #require(finding(items, rule: "github-token"))
        #expect(github["kind"]?.stringValue == "secret")
        #expect(github["path"]?.stringValue == root + "/src/config.py")
        #expect(github["line"]?.intValue == 3)
        #expect(github["git"]?.stringValue == "tracked")
        #expect(github["severity"]?.stringValue == "error")
        #expect(github["masked"]?.stringValue == Masking.mask(Planted.github, knownPrefix: "ghp_"))
        #expect(github["secret"] == nil)
        #expect(finding(items, rule: "reflex-api-key", path: root + "/.env")?["line"]?.intValue == 1)
        let reactor = try #require(finding(items, rule: "reactor-api-key"))
        #expect(reactor["git"]?.stringValue == "untracked")
        #expect(reactor["severity"]?.stringValue == "warning")
        // Ignored files' content is not scanned.
        #expect(finding(items, rule: "aws-access-key-id") == nil)
        // 0600 files: no permission finding.
        #expect(finding(items, rule: "file-permissions") == nil)
        let summary = try JSON.parse(result.stdout)["summary"]
        #expect(summary?["exit_status"]?.intValue == 1)

        // The text form: grouped by repository, with fixes, and masked.
        let text = try leakCheck(sandbox, [sandbox.root + "/work", "--no-home"])
        #expect(text.status == 1)
        #expect(text.stdout.contains("Repository \(root)\n"))
        #expect(text.stdout.contains("Fix: Add the line /credentials.json to \(root)/.gitignore."))
        #expect(text.stdout.contains(Masking.mask(Planted.github, knownPrefix: "ghp_")))
        expectNoKeyInClear(text)
    }

    @Test("history: a credentials file and a key that exist only in past commits of any ref")
    func history() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let root = sandbox.root + "/repo"
        try GitFixture.initialize(root)
        try GitFixture.write(root, "README", "hello\n")
        try GitFixture.commitAll(root, "first")
        try GitFixture.git(["checkout", "-q", "-b", "feature"], in: root)
        try GitFixture.write(root, "deploy/aws.txt", "id=\(Planted.aws)\n")
        try GitFixture.write(root, ".env", "FLUXLOOP_API_KEY=\(Planted.flux)\n")
        try GitFixture.commitAll(root, "oops")
        let leakCommit = try GitFixture.git(["rev-parse", "HEAD"], in: root).trimmingCharacters(
            in: .whitespacesAndNewlines)
        try GitFixture.git(["rm", "-q", "deploy/aws.txt", ".env"], in: root)
        try GitFixture.git(["commit", "-q", "-m", "remove"], in: root)
        try GitFixture.git(["checkout", "-q", "main"], in: root)

        let current = try leakCheck(sandbox, [root, "--no-home", "--format", "json"])
        #expect(current.status == 0, "\(current)")
        #expect(try findings(current).isEmpty)

        let result = try leakCheck(sandbox, [root, "--history", "--format", "json"])
        #expect(result.status == 1, "\(result)")
        expectNoKeyInClear(result)
        let items = try findings(result)
        let aws = try #require(finding(items, rule: "aws-access-key-id"))
        #expect(aws["git"]?.stringValue == "history")
        #expect(aws["commit"]?.stringValue == leakCommit)
        #expect(aws["line"]?.intValue == 1)
        #expect(aws["path"]?.stringValue == root + "/deploy/aws.txt")
        let file = try #require(finding(items, rule: "credentials-file-in-history"))
        #expect(file["path"]?.stringValue == root + "/.env")
        #expect(file["commit"]?.stringValue == leakCommit)
        #expect(finding(items, rule: "fluxloop-api-key")?["git"]?.stringValue == "history")
        // One finding per key and path.
        #expect(items.filter { $0["rule"]?.stringValue == "aws-access-key-id" }.count == 1)
    }

    @Test("worktrees and submodules found under a PATH are scanned as repositories")
    func worktreeAndSubmodule() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let tree = sandbox.root + "/tree"
        try Sys.mkdir(tree, 0o755)
        let library = sandbox.root + "/library"
        try GitFixture.initialize(library)
        try GitFixture.write(library, "lib.py", "KEY = '\(Planted.aws2)'\n")
        try GitFixture.commitAll(library)
        let main = tree + "/main"
        try GitFixture.initialize(main)
        try GitFixture.write(main, "README", "x\n")
        try GitFixture.commitAll(main)
        try GitFixture.git(
            ["-c", "protocol.file.allow=always", "submodule", "add", "-q", library, "vendor/lib"], in: main)
        try GitFixture.git(["commit", "-q", "-m", "submodule"], in: main)
        try GitFixture.git(["worktree", "add", "-q", tree + "/wt", "-b", "wt"], in: main)
        try GitFixture.write(tree + "/wt", "notes.txt", "slack \(Planted.slack)\n")
        try GitFixture.write(tree, "loose.cfg", "token=\(Planted.github)\n")

        let result = try leakCheck(sandbox, [tree, "--no-home", "--format", "json"])
        #expect(result.status == 1, "\(result)")
        expectNoKeyInClear(result)
        let items = try findings(result)
        let sub = try #require(finding(items, rule: "aws-access-key-id"))
        #expect(sub["repository"]?.stringValue == main + "/vendor/lib")
        #expect(sub["git"]?.stringValue == "tracked")
        let wt = try #require(finding(items, rule: "slack-token"))
        #expect(wt["repository"]?.stringValue == tree + "/wt")
        #expect(wt["git"]?.stringValue == "untracked")
        let loose = try #require(finding(items, rule: "github-token"))
        #expect(loose["repository"] == .null)
        #expect(loose["git"] == .null)
        #expect(loose["severity"]?.stringValue == "warning")
    }

    @Test("machine audit: a home directory that is a repository, app-spec files, well-known files, permissions")
    func homeAsRepository() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let home = sandbox.home
        try GitFixture.git(["init", "-q", "-b", "main"], in: home)
        try GitFixture.write(
            home, ".config/reflex/credentials.json", "{\"api_key\": \"\(Planted.reflex)\"}\n", mode: 0o600)
        try GitFixture.write(home, ".bashrc", "export GH=\(Planted.github)\n")
        try GitFixture.git(["add", ".config/reflex/credentials.json", ".bashrc"], in: home)
        try GitFixture.git(["commit", "-q", "-m", "dotfiles"], in: home)
        try GitFixture.write(home, ".netrc", "machine example.com login me password pw\n", mode: 0o644)
        try GitFixture.write(home, ".gitignore", ".netrc\n")
        try GitFixture.write(home, ".reactor/credentials", "{\"api_key\": \"\(Planted.reactor)\"}\n", mode: 0o640)

        let result = try leakCheck(sandbox, ["--format", "json"])
        #expect(result.status == 1, "\(result)")
        expectNoKeyInClear(result)
        let items = try findings(result)
        let tracked = try #require(finding(items, rule: "credentials-file-tracked"))
        #expect(tracked["path"]?.stringValue == home + "/.config/reflex/credentials.json")
        #expect(tracked["repository"]?.stringValue == home)
        #expect(finding(items, rule: "credentials-file-ignored")?["path"]?.stringValue == home + "/.netrc")
        #expect(
            finding(items, rule: "credentials-file-untracked")?["path"]?.stringValue == home + "/.reactor/credentials")
        let permissions = items.filter { $0["rule"]?.stringValue == "file-permissions" }.compactMap {
            $0["path"]?.stringValue
        }
        #expect(Set(permissions) == [home + "/.netrc", home + "/.reactor/credentials"])
        // The home repository's tracked files are scanned; its untracked files are not listed.
        #expect(finding(items, rule: "github-token")?["path"]?.stringValue == home + "/.bashrc")

        // With a PATH the machine audit still runs...
        let withPath = try leakCheck(sandbox, [sandbox.root + "/config", "--format", "json"])
        #expect(try finding(findings(withPath), rule: "credentials-file-tracked") != nil, "\(withPath)")
        // ...and --no-home skips all of it.
        let skipped = try leakCheck(sandbox, ["--no-home", sandbox.root + "/config", "--format", "json"])
        #expect(try findings(skipped).isEmpty, "\(skipped)")
    }

    @Test("a path with spaces and non-ASCII characters: absolute paths in JSON, percent-encoded URIs in SARIF")
    func unusualPaths() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let root = sandbox.root + "/mes projets/clés été"
        try Sys.mkdir(sandbox.root + "/mes projets", 0o755)
        try GitFixture.initialize(root)
        try GitFixture.write(root, "dossier à part/ré glages.txt", "k=\(Planted.reflex)\n")
        try GitFixture.commitAll(root)
        let json = try leakCheck(sandbox, [root, "--no-home", "--format", "json"])
        #expect(json.status == 1, "\(json)")
        let jsonItems = try findings(json)
        #expect(
            finding(jsonItems, rule: "reflex-api-key")?["path"]?.stringValue == root + "/dossier à part/ré glages.txt")
        let sarif = try leakCheck(sandbox, [root, "--no-home", "--format", "sarif"])
        let sarifResults = try Self.sarifResults(sarif)
        let result = try #require(sarifResults.first)
        let location = result["locations"].flatMap { if case .array(let a) = $0 { return a.first } else { return nil } }
        let uri = location?["physicalLocation"]?["artifactLocation"]?["uri"]?.stringValue
        #expect(uri == "dossier%20%C3%A0%20part/r%C3%A9%20glages.txt")
    }

    @Test("permissions: group- or other-readable credentials and key files, and files owned by another user")
    func permissions() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let dir = sandbox.root + "/plain"
        try Sys.mkdir(dir, 0o755)
        try GitFixture.write(dir, "server.key", "not a key\n", mode: 0o640)
        try GitFixture.write(dir, ".env", "A=1\n", mode: 0o604)
        try GitFixture.write(dir, "private.key", "not a key\n", mode: 0o600)
        try GitFixture.write(dir, "notes.txt", "nothing\n", mode: 0o666)
        let result = try leakCheck(sandbox, [dir, "--no-home", "--format", "json"])
        #expect(result.status == 1, "\(result)")
        let items = try findings(result).filter { $0["rule"]?.stringValue == "file-permissions" }
        #expect(Set(items.compactMap { $0["path"]?.stringValue }) == [dir + "/server.key", dir + "/.env"])
        #expect(items.allSatisfy { $0["kind"]?.stringValue == "permissions" && $0["git"] == .null })
        #expect(
            items.first { $0["path"]?.stringValue == dir + "/.env" }?["message"]?.stringValue?.contains("others")
                == true)
        #expect(items.first?["fix"]?.stringValue?.hasPrefix("chmod 600 ") == true)
        if Sys.effectiveUserID == 0 {
            #expect(chown(dir + "/private.key", 65534, 65534) == 0)
            let owned = try leakCheck(sandbox, [dir, "--no-home", "--format", "json"])
            #expect(try finding(findings(owned), rule: "file-owner")?["path"]?.stringValue == dir + "/private.key")
        }
    }

    @Test("placeholders and documentation examples do not fire; exit 0")
    func placeholders() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let root = sandbox.root + "/docs"
        try GitFixture.initialize(root)
        try GitFixture.write(
            root, "README.md",
            """
            export REFLEX_API_KEY=rfx_...
            export REFLEX_API_KEY=rfx_xxxxxxxx
            REMINIX_API_KEY=reminix_sk_...
            api_key = "your_key_here"
            aws_access_key_id = AKIAIOSFODNN7EXAMPLE
            fluxloop auth login --api-key flux_dev_abc123def456ghi789jkl012mno34
            "api_key": "rp_..."
            -----BEGIN OPENSSH PRIVATE KEY-----
            <your key here>
            -----END OPENSSH PRIVATE KEY-----

            """)
        try GitFixture.commitAll(root)
        let result = try leakCheck(sandbox, [root, "--no-home", "--history"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("No leaks found"))
    }

    @Test("a baseline suppresses exactly its findings, whatever their line; keyway:allow suppresses one line")
    func baselineAndAllow() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let root = sandbox.root + "/repo"
        try GitFixture.initialize(root)
        try GitFixture.write(root, "a.py", "X = '\(Planted.github)'\nY = '\(Planted.aws)'  # keyway:allow\n")
        try GitFixture.commitAll(root)
        let baseline = sandbox.root + "/baseline.json"
        let update = try leakCheck(sandbox, [root, "--no-home", "--baseline", baseline, "--update-baseline"])
        #expect(update.status == 0, "\(update)")
        let written = String(decoding: try #require(try readFile(baseline)), as: UTF8.self)
        #expect(!written.contains(Planted.github))
        #expect(written.contains("\"rule\": \"github-token\""))
        #expect(written.contains("\"path\": \"a.py\""))
        #expect(!written.contains("aws-access-key-id"))  // allowed inline: not a finding

        let quiet = try leakCheck(sandbox, [root, "--no-home", "--baseline", baseline])
        #expect(quiet.status == 0, "\(quiet)")
        #expect(quiet.stdout.contains("1 suppressed by the baseline"))
        #expect(quiet.stdout.contains("1 allowed by keyway:allow"))

        // The known key moves down; the allowed key loses its comment; a new key and a new credentials file appear.
        try GitFixture.write(
            root, "a.py", "\n\n# moved\nX = '\(Planted.github)'\nY = '\(Planted.aws)'\nZ = '\(Planted.reflex)'\n")
        try GitFixture.write(root, ".env", "A=1\n", mode: 0o600)
        let after = try leakCheck(sandbox, [root, "--no-home", "--baseline", baseline, "--format", "json"])
        #expect(after.status == 1)
        let rules = try findings(after).compactMap { $0["rule"]?.stringValue }.sorted()
        #expect(rules == ["aws-access-key-id", "credentials-file-untracked", "reflex-api-key"])
        // The same key in another file is not covered.
        try GitFixture.write(root, "b.py", "X = '\(Planted.github)'\n")
        let other = try leakCheck(sandbox, [root, "--no-home", "--baseline", baseline, "--format", "json"])
        #expect(try finding(findings(other), rule: "github-token")?["path"]?.stringValue == root + "/b.py")

        let malformed = sandbox.root + "/bad.json"
        try writeFile(malformed, "{\"version\": 2}", mode: 0o600)
        let bad = try leakCheck(sandbox, [root, "--no-home", "--baseline", malformed])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("bad.json"))
    }

    static func sarifResults(_ result: RunResult) throws -> [JSON] {
        let json = try JSON.parse(result.stdout)
        guard case .array(let runs)? = json["runs"], case .array(let results)? = runs.first?["results"] else {
            throw GitFixture.Failure(description: "no SARIF results: \(result)")
        }
        return results
    }

    @Test("SARIF validates against the SARIF 2.1.0 schema, with rules, relative URIs, lines, fingerprints, no secret")
    func sarif() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let root = sandbox.root + "/repo"
        try GitFixture.initialize(root)
        try GitFixture.write(root, "src/app.js", "\n\nconst k = '\(Planted.github)';\n")
        try GitFixture.write(root, ".env", "K=\(Planted.reflex)\n", mode: 0o644)
        try GitFixture.commitAll(root)
        try GitFixture.write(sandbox.root, "outside/aws.txt", Planted.aws + "\n")
        let result = try leakCheck(
            sandbox, [root, sandbox.root + "/outside", "--no-home", "--format", "sarif", "--show-secrets"])
        #expect(result.status == 1, "\(result)")
        expectNoKeyInClear(result)
        let results = try Self.sarifResults(result)
        let github = try #require(results.first { $0["ruleId"]?.stringValue == "github-token" })
        #expect(github["level"]?.stringValue == "error")
        guard case .array(let locations)? = github["locations"] else {
            Issue.record("no locations")
            return
        }
        let physical = locations.first?["physicalLocation"]
        #expect(physical?["artifactLocation"]?["uri"]?.stringValue == "src/app.js")
        #expect(physical?["region"]?["startLine"]?.intValue == 3)
        #expect(github["partialFingerprints"]?["keywayFingerprint/v1"]?.stringValue?.count == 64)
        let json = try JSON.parse(result.stdout)
        guard case .array(let runs)? = json["runs"], case .array(let rules)? = runs.first?["tool"]?["driver"]?["rules"]
        else {
            Issue.record("no rules")
            return
        }
        let ids = rules.compactMap { $0["id"]?.stringValue }
        #expect(Set(ids) == Set(results.compactMap { $0["ruleId"]?.stringValue }))
        for result in results {
            let index = try #require(result["ruleIndex"]?.intValue)
            #expect(ids[index] == result["ruleId"]?.stringValue)
        }

        let file = sandbox.root + "/report.sarif"
        try writeFile(file, result.stdout, mode: 0o600)
        let schema = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("LeakCheckTests/Data/sarif-schema-2.1.0.json").path
        let validation = try runProcess(
            "/usr/bin/python3", ["-m", "jsonschema", "-i", file, schema], environment: ["PATH": "/usr/bin:/bin"])
        #expect(
            validation.status == 0,
            "SARIF does not validate (python3-jsonschema comes from scripts/install-deps): \(validation)")

        // The validator does reject a broken document (the check can fail).
        try writeFile(file, "{\"version\": \"2.1.0\", \"runs\": [{\"results\": []}]}", mode: 0o600)
        let broken = try runProcess(
            "/usr/bin/python3", ["-m", "jsonschema", "-i", file, schema], environment: ["PATH": "/usr/bin:/bin"])
        // jsonschema's exit status for a document that does not validate is 1, with the reason on stderr.
        #expect(broken.status == 1, "\(broken)")
        #expect((broken.stdout + broken.stderr).contains("is a required property"), "\(broken)")
    }

    @Test("--show-secrets prints keys in text and JSON; --output writes a 0600 file")
    func showSecretsAndOutput() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let root = sandbox.root + "/repo"
        try GitFixture.initialize(root)
        try GitFixture.write(root, "a.txt", "k=\(Planted.github)\n")
        let text = try leakCheck(sandbox, [root, "--no-home", "--show-secrets"])
        #expect(text.stdout.contains("Secret: \(Planted.github)"))
        let json = try leakCheck(sandbox, [root, "--no-home", "--show-secrets", "--format", "json"])
        #expect(try finding(findings(json), rule: "github-token")?["secret"]?.stringValue == Planted.github)

        let out = sandbox.root + "/out/report.json"
        try Sys.mkdir(sandbox.root + "/out", 0o755)
        let written = try sandbox.run(
            ["leak-check", root, "--no-home", "--show-secrets", "--format", "json", "--output", out],
            env: GitFixture.plainEnvironment, umask: 0o022)
        #expect(written.status == 1)
        #expect(written.stdout.isEmpty)
        #expect(try KeywayTestSupport.permissions(out) == 0o600)
        #expect(String(decoding: try #require(try readFile(out)), as: UTF8.self).contains(Planted.github))
    }

    @Test("exit status: 0 clean, 1 findings, 2 when the scan fails (missing path, broken repository)")
    func exitStatus() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let root = sandbox.root + "/repo"
        try GitFixture.initialize(root)
        try GitFixture.write(root, "a.txt", "nothing\n")
        #expect(try leakCheck(sandbox, [root, "--no-home"]).status == 0)
        let missing = try leakCheck(sandbox, [sandbox.root + "/nope", "--no-home"])
        #expect(missing.status == 2)
        #expect(missing.stdout.contains("does not exist"))
        let broken = sandbox.root + "/broken"
        try Sys.mkdir(broken, 0o755)
        try GitFixture.write(broken, ".git", "gitdir: /nonexistent/gitdir\n")
        let failed = try leakCheck(sandbox, [broken, "--no-home", "--format", "json"])
        #expect(failed.status == 2, "\(failed)")
        #expect(failed.stderr.contains("not a git repository"))
        let usage = try leakCheck(sandbox, [root, "--format", "xml"])
        #expect(usage.status == 64)
    }

    @Test("values Keyway stores are found by digest; an unreadable store is reported with exit 2")
    func storedValues() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let value = "Zq8Wc3Lm5Nv7Bx1Ty9UaPo2Rk4"
        #expect(try sandbox.run(["login", "myapp", "--api-key", value]).status == 0)
        let root = sandbox.root + "/repo"
        try GitFixture.initialize(root)
        try GitFixture.write(root, "deploy.sh", "curl -H 'X-Key: \(value)' https://example.invalid\n")
        let result = try leakCheck(sandbox, [root, "--no-home", "--format", "json"])
        #expect(result.status == 1, "\(result)")
        #expect(!result.stdout.contains(value))
        let storedItems = try findings(result)
        let stored = try #require(finding(storedItems, rule: "keyway-stored-key"))
        #expect(stored["line"]?.intValue == 1)
        #expect(stored["message"]?.stringValue?.contains("myapp/default") == true)

        try writeFile(sandbox.credentialsFile, "{ not json", mode: 0o600)
        let failed = try leakCheck(sandbox, [root, "--no-home", "--format", "json"])
        #expect(failed.status == 2, "\(failed)")
        #expect(failed.stderr.contains("plaintext store"))
        #expect(try JSON.parse(failed.stdout)["errors"] != .array([]))
    }

    @Test("an untrusted repository (another owner, hostile configuration) is read without running anything")
    func untrustedRepository() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let root = sandbox.root + "/hostile"
        try GitFixture.initialize(root)
        let marker = sandbox.root + "/pwned"
        let script = sandbox.root + "/evil.sh"
        try writeFile(script, "#!/bin/sh\ntouch \(marker)\ncat\n", mode: 0o755)
        for (key, value) in [
            ("core.fsmonitor", script), ("log.showSignature", "true"), ("gpg.program", script),
            ("diff.external", script), ("filter.evil.clean", script), ("filter.evil.smudge", script),
            ("filter.evil.process", script), ("diff.evil.textconv", script), ("core.pager", script),
            ("core.hooksPath", sandbox.root + "/hooks"),
        ] {
            try GitFixture.git(["config", key, value], in: root)
        }
        try GitFixture.write(root, ".gitattributes", "* filter=evil diff=evil\n")
        try GitFixture.write(root, "a.txt", "k=\(Planted.github)\n")
        try GitFixture.git(
            [
                "-c", "filter.evil.clean=cat", "-c", "filter.evil.process=", "-c", "core.fsmonitor=false",
                "add", "-A",
            ], in: root)
        try GitFixture.git(
            [
                "-c", "core.fsmonitor=false", "-c", "filter.evil.clean=cat", "-c", "filter.evil.process=",
                "commit", "-q", "--no-verify", "-m", "x",
            ], in: root)
        try? FileManager.default.removeItem(atPath: marker)
        if Sys.effectiveUserID == 0 {
            let chown = try runProcess("/bin/chown", ["-R", "65534:65534", root], environment: [:])
            #expect(chown.status == 0)
        }
        let result = try leakCheck(sandbox, [root, "--no-home", "--history", "--format", "json"])
        #expect(result.status == 1, "\(result)")
        #expect(try finding(findings(result), rule: "github-token") != nil)
        #expect(!FileManager.default.fileExists(atPath: marker), "git ran a command the repository configured")
        if Sys.effectiveUserID == 0 {
            #expect(result.stdout.contains("belongs to uid 65534"))
        }
    }

    @Test("--staged: only what is staged, from the index, quickly; the pre-commit hook definition runs it")
    func staged() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let root = sandbox.root + "/repo"
        try GitFixture.initialize(root)
        for i in 0..<200 { try GitFixture.write(root, "src/f\(i).txt", "line \(i)\n") }
        try GitFixture.write(root, "old.txt", "k=\(Planted.aws)\n")
        try GitFixture.commitAll(root)
        // Nothing staged yet: a clean pass (0), run in the repository itself (not just with $PWD naming it, which
        // Keyway does not read); an error (2) is not a pass.
        let clean = try sandbox.run(["leak-check", "--staged"], env: GitFixture.plainEnvironment, directory: root)
        #expect(clean.status == 0, "\(clean)")
        #expect(clean.stdout == "No leaks found (1 repository, 0 files).\n", "\(clean)")
        // Stage a key, then remove it from the working tree only: the index still has it.
        try GitFixture.write(root, "src/f1.txt", "k=\(Planted.github)\n")
        try GitFixture.git(["add", "src/f1.txt"], in: root)
        try GitFixture.write(root, "src/f1.txt", "clean\n")
        // An unstaged key is not part of the commit.
        try GitFixture.write(root, "src/f2.txt", "k=\(Planted.reflex)\n")
        try GitFixture.write(root, ".env", "A=1\n", mode: 0o600)
        try GitFixture.git(["add", ".env"], in: root)
        let start = Date()
        let result = try runProcess(
            "/bin/sh", ["-c", "cd \"$1\" && exec \"$2\" leak-check --staged --format json", "sh", root, keywayBinary],
            environment: sandbox.environment.merging(GitFixture.plainEnvironment) { $1 })
        let elapsed = Date().timeIntervalSince(start)
        #expect(result.status == 1, "\(result)")
        expectNoKeyInClear(result)
        let items = try findings(result)
        #expect(Set(items.compactMap { $0["rule"]?.stringValue }) == ["github-token", "credentials-file-staged"])
        #expect(items.allSatisfy { $0["git"]?.stringValue == "staged" })
        #expect(elapsed < 3, "a pre-commit run took \(elapsed) s")

        let hooks = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".pre-commit-hooks.yaml").path
        let definition = String(decoding: try #require(try readFile(hooks)), as: UTF8.self)
        #expect(definition.contains("entry: keyway leak-check --staged"))
        #expect(definition.contains("pass_filenames: false"))
    }

    /// A committed repository with `docs/guide/README` and `src/app.txt`.
    static func docsAndSource(_ sandbox: Sandbox) throws -> String {
        let root = sandbox.root + "/repo"
        try GitFixture.initialize(root)
        try GitFixture.write(root, "docs/guide/README", "docs\n")
        try GitFixture.write(root, "src/app.txt", "app\n")
        try GitFixture.commitAll(root)
        return root
    }

    @Test("--staged without PATH checks the whole current repository, from its root or any subdirectory")
    func stagedFromSubdirectory() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let root = try Self.docsAndSource(sandbox)
        try GitFixture.write(root, "src/app.txt", "k=\(Planted.github)\n")
        try GitFixture.git(["add", "src/app.txt"], in: root)
        for directory in [root + "/docs/guide", root + "/docs", root + "/src", root] {
            let result = try sandbox.run(
                ["leak-check", "--staged", "--format", "json"], env: GitFixture.plainEnvironment, directory: directory)
            #expect(result.status == 1, "from \(directory): \(result)")
            #expect(
                try finding(findings(result), rule: "github-token", path: root + "/src/app.txt") != nil,
                "from \(directory): \(result)")
        }
    }

    @Test("as a pre-commit hook, leak-check --staged refuses `git commit -a` of a key (the index git commits)")
    func preCommitHookWithCommitAll() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let root = try Self.docsAndSource(sandbox)
        try GitFixture.write(
            root, ".git/hooks/pre-commit", "#!/bin/sh\nexec '\(keywayBinary)' leak-check --staged\n", mode: 0o755)
        // Modified in the work tree only: `commit -a` stages it into the index it hands the hook.
        try GitFixture.write(root, "src/app.txt", "k=\(Planted.github)\n")
        for directory in [root, root + "/docs"] {
            let commit = try runProcess(
                "/usr/bin/git", ["commit", "-q", "-a", "-m", "add a key"],
                environment: sandbox.environment.merging(GitFixture.plainEnvironment) { $1 }, directory: directory)
            // git commit exits 1 when the pre-commit hook fails.
            #expect(commit.status == 1, "the commit from \(directory) went through: \(commit)")
            #expect(commit.stdout.contains("github-token") || commit.stderr.contains("github-token"), "\(commit)")
            #expect(try GitFixture.git(["rev-list", "--count", "HEAD"], in: root) == "1\n")
        }
    }
}
