import KeywayCore
import KeywayTestSupport
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
