import Glibc
import KeywayCore
import KeywayTestSupport
import Synchronization
import Testing

@testable import KeywayLeakCheck

/// Repositories and files leak-check used to pass over in silence.
@Suite("LeakCheck repository kinds and credentials files")
struct RepositoryKindsTests {
    func check(_ paths: [String], history: Bool = false, in directory: String) -> LeakReport {
        LeakChecker(
            LeakCheckOptions(
                paths: paths, history: history, machineAudit: false, environment: .process(),
                workingDirectory: directory, specs: AppCatalog.builtIn)
        ).run()
    }

    @Test("a bare repository (a mirror) is scanned as a repository with --history, and noted without it")
    func bareRepository() throws {
        let directory = try TemporaryDirectory(prefix: "leak-bare")
        let source = directory.path + "/source"
        _ = try GitFixture.keyThenClean(source, line: "TOKEN=\(Planted.github)")
        let mirror = directory.path + "/mirror.git"
        _ = try GitFixture.git(["clone", "-q", "--mirror", source, mirror], in: directory.path)
        let report = check([mirror], history: true, in: directory.path)
        #expect(report.errors.isEmpty, "\(report.errors)")
        #expect(report.findings.map(\.rule) == ["github-token"])
        #expect(report.findings.first?.git == .history)
        #expect(report.commitsScanned == 3)
        #expect(report.repositories == [mirror])
        // Found under a directory too.
        #expect(
            check([directory.path], history: true, in: directory.path).findings.filter { $0.repository == mirror }.count
                == 1)
        let without = check([mirror], in: directory.path)
        #expect(without.findings.isEmpty)
        #expect(without.notScanned.contains { $0.contains("bare repository") && $0.contains("--history") })
    }

    /// Before the first commit every index entry is staged, a `git add -N` one too (`diff --cached` leaves those
    /// out unless asked: once it replaced `rev-parse HEAD` + `ls-files`, such a file counted as tracked and the
    /// committed-version lookup failed on the missing HEAD, exit 2). Under a HEAD naming a missing commit too.
    @Test("files staged before the first commit (git add -N too), or under a HEAD naming a missing commit, are staged")
    func stagedWithoutAReadableHead() throws {
        let directory = try TemporaryDirectory(prefix: "leak-unborn")
        let repo = directory.path + "/repo"
        try GitFixture.initialize(repo)
        try GitFixture.write(repo, "k.txt", "TOKEN=\(Planted.github)\n")
        try GitFixture.write(repo, "intent.txt", "TOKEN=\(Planted.aws)\n")
        _ = try GitFixture.git(["add", "k.txt"], in: repo)
        _ = try GitFixture.git(["add", "-N", "intent.txt"], in: repo)
        var report = check([repo], in: directory.path)
        #expect(report.errors.isEmpty, "\(report.errors)")
        #expect(report.findings.filter { $0.kind == .secret }.map(\.git) == [.staged, .staged], "\(report.findings)")
        // HEAD's branch naming a commit that is not in the repository: git compares the index with the empty tree.
        try GitFixture.write(repo, ".git/refs/heads/main", String(repeating: "ab", count: 20) + "\n")
        report = check([repo], in: directory.path)
        #expect(report.errors.isEmpty, "\(report.errors)")
        #expect(report.findings.filter { $0.kind == .secret }.map(\.git) == [.staged, .staged], "\(report.findings)")
    }

    @Test("a file whose name is not valid UTF-8 is scanned, in a directory of such a name too, and shown escaped")
    func nonUTF8Names() throws {
        let directory = try TemporaryDirectory(prefix: "leak-bytes")
        defer { _ = try? Subprocess.run(["/bin/rm", "-rf", directory.path], environment: [:]) }  // names not text
        func create(_ path: [UInt8], directory isDirectory: Bool = false, _ text: String = "") {
            let name = path.map { CChar(bitPattern: $0) } + [0]
            if isDirectory {
                mkdir(name, 0o700)
                return
            }
            let fd = open(name, O_CREAT | O_WRONLY | O_TRUNC, 0o600)
            _ = Array(text.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }
        let base = Array((directory.path + "/").utf8)
        create(base + Array("key".utf8) + [0xFF] + Array(".txt".utf8), "TOKEN=\(Planted.github)\n")
        create(base + [0xC3, 0x28], directory: true)
        create(base + [0xC3, 0x28] + Array("/inner.env".utf8), "TOKEN=\(Planted.aws)\n")
        let report = check([directory.path], in: directory.path)
        #expect(report.errors.isEmpty, "\(report.errors)")
        #expect(
            Set(report.findings.filter { $0.kind == .secret }.map(\.path))
                == [directory.path + "/key\\xff.txt", directory.path + "/\\xc3(/inner.env"])
    }

    @Test("a repository whose path is not valid UTF-8 is scanned as files, with a note; names with a backslash escaped")
    func repositoryUnderNonUTF8Name() throws {
        let directory = try TemporaryDirectory(prefix: "leak-bytesrepo")
        defer { _ = try? Subprocess.run(["/bin/rm", "-rf", directory.path], environment: [:]) }
        // git cannot be handed a path that is not text: the shell makes the repository.
        let script =
            "mkdir \"$(printf '\\303(')\" && cd \"$(printf '\\303(')\" && git init -q nested "
            + "&& printf 'TOKEN=%s\\n' \"$1\" > nested/k.txt && printf 'x\\n' > 'a\\b.txt'"
        let made = try Subprocess.run(
            ["/bin/sh", "-c", "cd \"$2\" && " + script, "sh", Planted.github, directory.path],
            environment: Environment.process().values)
        #expect(made.status == 0, "\(made.stderrText)")
        let report = check([directory.path], in: directory.path)
        #expect(report.errors.isEmpty, "\(report.errors)")
        let nested = directory.path + "/\\xc3(/nested"
        #expect(report.findings.filter { $0.kind == .secret }.map(\.path) == [nested + "/k.txt"])
        #expect(report.findings.allSatisfy { $0.repository == nil && !$0.path.contains("/.git/") })
        #expect(
            report.notScanned.contains { $0.contains("Not scanned as a repository: \(nested)") }, "\(report.notScanned)"
        )
        // A name holding a backslash is escaped too, so that every text stands for one name.
        #expect(FileNames.text(Array("a\\b.txt".utf8)) == "a\\x5cb.txt")
        #expect(FileNames.bytes("a\\x5cb\\xff") == Array("a\\b".utf8) + [0xFF])
    }

    @Test("a key in a Kubernetes Secret's data: value is reported at its line, naming the key, never in clear")
    func kubernetesSecretFinding() throws {
        let directory = try TemporaryDirectory(prefix: "leak-k8s")
        let encoded = Base64Text.encode(Array(Planted.github.utf8))
        try writeFile(
            directory.path + "/secret.yaml", "apiVersion: v1\nkind: Secret\ndata:\n  GH: \(encoded)\n", mode: 0o600)
        let report = check([directory.path], in: directory.path)
        let finding = try #require(report.findings.first)
        #expect(report.findings.count == 1)
        #expect(finding.rule == "github-token" && finding.line == 4)
        #expect(finding.message.contains("data key GH, decoded"), "\(finding.message)")
        #expect(!finding.message.contains(Planted.github) && !finding.message.contains(encoded))
        #expect(!report.text(showSecrets: false).contains(Planted.github))
    }

    @Test("files and blobs are scanned on several threads: the same findings, in the same order, as on one thread")
    func parallelScan() throws {
        let directory = try TemporaryDirectory(prefix: "leak-parallel")
        let root = directory.path + "/r"
        try GitFixture.initialize(root)
        let keys = [Planted.github, Planted.aws, Planted.slack, Planted.stripe, Planted.githubOutside]
        for i in 0..<300 {
            let filler = String(repeating: "let value\(i) = compute(\(i)) // nothing here\n", count: 20 + i % 30)
            let key = i % 7 == 0 ? "TOKEN = \"\(keys[i % keys.count])\"\n" : ""
            try GitFixture.write(root, "src/d\(i % 13)/f\(i).py", filler + key + filler)
        }
        try GitFixture.commitAll(root)
        for i in stride(from: 0, to: 300, by: 7) { try GitFixture.write(root, "src/d\(i % 13)/f\(i).py", "clean\n") }
        try GitFixture.commitAll(root, "clean")
        for i in 0..<100 {
            try writeFile(directory.path + "/loose\(i).env", "KEY=\(keys[i % keys.count])\n", mode: 0o600)
        }
        func run(threads: Int) -> LeakReport {
            var options = LeakCheckOptions(
                paths: [directory.path], history: true, machineAudit: false, environment: .process(),
                workingDirectory: directory.path, specs: AppCatalog.builtIn)
            options.threads = threads
            return LeakChecker(options).run()
        }
        let one = run(threads: 1), two = run(threads: 2), four = run(threads: 4)
        #expect(one.errors.isEmpty, "\(one.errors)")
        func rows(_ report: LeakReport) -> [String] {
            report.findings.map {
                [$0.rule, $0.path, "\($0.line ?? 0)", $0.commit ?? "", $0.fingerprint].joined(separator: " ")
            }
        }
        #expect(one.findings.filter { $0.git == .history }.count == 43)
        #expect(one.findings.filter { $0.git == nil && $0.kind == .secret }.count == 100)
        #expect(rows(two) == rows(one))
        #expect(rows(four) == rows(one))
        #expect(two.filesScanned == one.filesScanned && two.blobsScanned == one.blobsScanned)
    }

    @Test("Parallel.map keeps the items' order and uses the threads it is given")
    func parallelMap() {
        let threads = Mutex(Set<UInt>())
        let results = Parallel.map(Array(0..<64), threads: 2) { i in
            threads.withLock { _ = $0.insert(UInt(pthread_self())) }
            usleep(2000)
            return i * i
        }
        #expect(results == (0..<64).map { $0 * $0 })
        #expect(threads.withLock { $0.count } == 2)
        #expect(Parallel.threads >= 1 && Parallel.threads <= Parallel.maximumThreads)
    }

    /// Writes `text` to the file whose path is the bytes `path` (names that are not valid UTF-8).
    static func writeBytes(_ path: [UInt8], _ text: String) {
        let name = path.map { CChar(bitPattern: $0) } + [0]
        let fd = open(name, O_CREAT | O_WRONLY | O_TRUNC, 0o600)
        _ = Array(text.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    @Test("git paths that are not valid UTF-8 are scanned (work tree, staged, history) and shown escaped")
    func nonUTF8GitPaths() throws {
        let directory = try TemporaryDirectory(prefix: "leak-gitbytes")
        // removeTree reads names as text: names that are not UTF-8 are left to rm.
        defer { _ = try? Subprocess.run(["/bin/rm", "-rf", directory.path], environment: [:]) }
        let root = directory.path + "/r"
        try GitFixture.initialize(root)
        let base = Array((root + "/").utf8)
        // Tracked and committed, holding a key.
        Self.writeBytes(base + Array("key".utf8) + [0xFF] + Array(".txt".utf8), "TOKEN=\(Planted.github)\n")
        // Committed with a key, then emptied: only the history holds it.
        Self.writeBytes(base + Array("old".utf8) + [0xFE] + Array(".txt".utf8), "id = \(Planted.aws)\n")
        // A credentials file by name whose directory's name is not UTF-8.
        mkdir((base + [0xC3, 0x28]).map { CChar(bitPattern: $0) } + [0], 0o700)
        Self.writeBytes(base + [0xC3, 0x28] + Array("/.env".utf8), "X=1\n")
        try GitFixture.commitAll(root)
        Self.writeBytes(base + Array("old".utf8) + [0xFE] + Array(".txt".utf8), "nothing\n")
        try GitFixture.commitAll(root, "clean")
        // Untracked, holding a key.
        Self.writeBytes(base + Array("new".utf8) + [0x80] + Array(".txt".utf8), "TOKEN=\(Planted.githubOutside)\n")

        let report = check([root], history: true, in: directory.path)
        #expect(report.errors.isEmpty, "\(report.errors)")
        let found = Set(report.findings.map { "\($0.rule) \($0.relativePath) \($0.git?.rawValue ?? "-")" })
        #expect(
            found == [
                "github-token key\\xff.txt tracked", "aws-access-key-id old\\xfe.txt history",
                "github-token new\\x80.txt untracked", "credentials-file-tracked \\xc3(/.env tracked",
            ], "\(found)")
        // SARIF names the file by its own bytes.
        let sarif = report.sarifText(rules: SecretRule.wellKnown, sourceRoot: root, version: "test")
        #expect(sarif.contains("\"key%FF.txt\""), "\(sarif)")
        // The fix texts name the file so that a shell finds it.
        let tracked = report.findings.first { $0.rule == "credentials-file-tracked" }
        #expect(tracked?.fix.contains("$'\\xc3(/.env'") == true, "\(tracked?.fix ?? "")")

        // Staged only (the pre-commit check).
        Self.writeBytes(base + Array("staged".utf8) + [0xFF] + Array(".txt".utf8), "TOKEN=\(Planted.github)\n")
        try GitFixture.git(["add", "-A"], in: root)
        let staged = LeakChecker(
            LeakCheckOptions(
                paths: [], staged: true, machineAudit: false, environment: .process(), workingDirectory: root,
                specs: AppCatalog.builtIn)
        ).run()
        #expect(staged.errors.isEmpty, "\(staged.errors)")
        #expect(staged.findings.map(\.relativePath).contains("staged\\xff.txt"), "\(staged.findings.map(\.path))")
    }

    @Test(
        "credentials files recognised by name (tfvars, ppk, keystores, secrets.toml) and by content (service account)")
    func credentialsFiles() throws {
        let directory = try TemporaryDirectory(prefix: "leak-credfiles")
        let root = directory.path + "/r"
        try GitFixture.initialize(root)
        let names = [
            "terraform.tfvars", "prod.auto.tfvars", "deploy.ppk", "release.jks", "app.keystore", "cert.p12",
            "secrets.toml", "credentials.yaml",
        ]
        for name in names { try GitFixture.write(root, name, "x = 1\n") }
        try GitFixture.write(root, "gcp-prod.json", "{\"type\": \"service_account\", \"private_key\": \"\"}\n")
        try GitFixture.write(root, "terraform.tfvars.example", "x = 1\n")
        try GitFixture.commitAll(root)
        let report = check([root], in: directory.path)
        let tracked = Set(report.findings.filter { $0.rule == FileRules.tracked }.map(\.relativePath))
        #expect(tracked == Set(names + ["gcp-prod.json"]))
    }
}

@Suite("LeakCheck progress")
struct ProgressTests {
    @Test("the progress line counts files, blobs, commits, bytes and the rate")
    func line() {
        let p = LeakProgress(files: 12_345, blobs: 0, commits: 1_234, bytes: 105_000_000, seconds: 0.5)
        #expect(p.line == "leak-check: 12,345 files, 1,234 commits, 105 MB (210 MB/s)")
    }

    @Test("progress is reported at most every quarter second, every 16 files at the earliest, and never unasked")
    func calls() throws {
        let directory = try TemporaryDirectory(prefix: "leak-progress")
        let seen = Counter()
        var options = LeakCheckOptions(
            paths: [], machineAudit: false, environment: .process(), workingDirectory: directory.path, specs: [])
        options.progress = { @Sendable _ in seen.add() }
        let checker = LeakChecker(options)
        checker.started = Subprocess.monotonicSeconds() - 10
        checker.lastProgress = checker.started
        for _ in 0..<15 { checker.noteProgress() }
        #expect(seen.value == 0)
        checker.noteProgress()
        #expect(seen.value == 1)
        // Within the quarter second: no second call.
        for _ in 0..<32 { checker.noteProgress() }
        #expect(seen.value == 1)
    }
}

final class Counter: @unchecked Sendable {
    private(set) var value = 0
    func add() { value += 1 }
}

@Suite("LeakCheck user rules")
struct UserRuleTests {
    func decode(_ text: String) throws(KeywayError) -> SecretRule {
        try UserRules.decode(Array(text.utf8), source: "/c/leak-rules/acme.json")
    }

    @Test("a prefix rule and a keyword rule match, with their entropy floor and allowlist")
    func matching() throws {
        let prefix = try decode(
            #"{"id": "acme-token", "prefixes": ["acme_"], "min_length": 24, "max_length": 24, "entropy": 4.0, "allowlist": ["acme_Test"]}"#
        )
        let keyword = try decode(
            #"{"id": "acme-pass", "keywords": ["acme_pass"], "alphabet": "printable", "min_length": 10}"#)
        let scanner = ContentScanner(rules: [prefix, keyword])
        func ids(_ text: String) -> [String] { scanner.scan(Array(text.utf8)).map(\.rule.id) }
        #expect(ids("k = acme_" + "Zq8Wc3Lm5Nv7Bx1Ty9UaPo2R\n") == ["acme-token"])
        #expect(ids("k = acme_" + "Test3Lm5Nv7Bx1Ty9UaPo2R\n").isEmpty)  // allowlisted
        #expect(ids("k = acme_" + "abababababababababababab\n").isEmpty)  // below the floor
        #expect(ids("ACME_PASS=\"" + "r8Kz!2mQ-x7Lp\"\n") == ["acme-pass"])
        #expect(prefix.severity == .error && prefix.family.contains("acme.json"))
    }

    @Test("errors name the file and the field, never a value")
    func errors() {
        let cases: [(String, String)] = [
            (#"{"prefixes": ["acme_"]}"#, #""id" is missing"#),
            (#"{"id": "Acme Token", "prefixes": ["acme_"]}"#, #""id" must be lower-case"#),
            (#"{"id": "a", "regex": "acme_[a-z]+"}"#, #""regex" is not supported"#),
            (#"{"id": "a"}"#, #"must be given one of them"#),
            (#"{"id": "a", "prefixes": ["x"]}"#, #""prefixes"[0] must be a string of at least 2"#),
            (#"{"id": "a", "prefixes": ["acme_"], "alphabet": "emoji"}"#, #""alphabet" must be one of"#),
            (
                #"{"id": "a", "prefixes": ["acme_"], "min_length": 40, "max_length": 20}"#,
                #""min_length" must not be larger"#
            ),
            (#"{"id": "a", "prefixes": ["acme_"], "entropy": "high"}"#, #""entropy" must be a number"#),
            (#"{"id": "a", "prefixes": ["acme_"], "colour": 1}"#, #""colour" is not a known field"#),
            (#"{"id": "a", "prefixes": ["acme_"], "severity": "fatal"}"#, #""severity" must be error or warning"#),
            (#"{"id": "a", "prefixes": ["acme_"], "id": "b"}"#, "is written more than once"),
            ("[1]", "the top level must be an object"),
        ]
        for (text, message) in cases {
            do {
                _ = try decode(text)
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.message.hasPrefix("Leak rule /c/leak-rules/acme.json"), "\(error.message)")
                #expect(error.message.contains(message), "\(error.message)")
                #expect(!error.message.contains("acme_[a-z]"))
            }
        }
    }

    @Test("rules load from <config>/leak-rules/*.json; a built-in id or a duplicate is refused")
    func loading() throws {
        let directory = try TemporaryDirectory(prefix: "leak-user-rules")
        let dir = directory.path + "/leak-rules"
        try GitFixture.write(directory.path, "leak-rules/a.json", #"{"id": "acme-token", "prefixes": ["acme_"]}"#)
        #expect(try UserRules.load(configDirectory: directory.path).map(\.id) == ["acme-token"])
        try GitFixture.write(directory.path, "leak-rules/b.json", #"{"id": "acme-token", "prefixes": ["acme2_"]}"#)
        #expect(throws: KeywayError.self) { try UserRules.load(configDirectory: directory.path) }
        try GitFixture.write(directory.path, "leak-rules/b.json", #"{"id": "github-token", "prefixes": ["acme2_"]}"#)
        do {
            _ = try UserRules.load(configDirectory: directory.path)
            Issue.record("a built-in id was accepted")
        } catch {
            #expect(error.message.contains(dir + "/b.json") && error.message.contains("built-in"))
        }
        #expect(try UserRules.load(configDirectory: directory.path + "/none").isEmpty)
    }
}
