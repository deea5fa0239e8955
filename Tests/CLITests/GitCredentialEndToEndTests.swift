import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

/// Real git (`clone`, `push`, `git credential fill/approve/reject`) with `credential.helper='!keyway
/// git-credential'` against `GitHTTPServer`, on each backend.
struct GitCredentialScenario {
    let sandbox: Sandbox
    let server: GitHTTPServer
    let backendEnvironment: [String: String]
    let work: String

    init(backendEnvironment: [String: String]) throws {
        sandbox = try Sandbox()
        server = try GitHTTPServer(users: ["alice": "pw-alice-1", "bob": "pw-bob-1"])
        self.backendEnvironment = backendEnvironment
        work = sandbox.root + "/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        try makeFile(sandbox.home + "/.gitconfig", "[credential]\n\thelper = !\(keywayBinary) git-credential\n")
        try makeFile(
            sandbox.root + "/askpass",
            "#!/bin/sh\necho \"$1\" >> '\(sandbox.root)/prompts'\ncase \"$1\" in\n  Username*) cat '\(sandbox.root)/answer-username' ;;\n"
                + "  *) cat '\(sandbox.root)/answer-password' ;;\nesac\n", mode: 0o700)
    }

    /// The prompts git showed through GIT_ASKPASS so far.
    var prompts: [String] {
        ((try? String(contentsOfFile: sandbox.root + "/prompts", encoding: .utf8)) ?? "")
            .split(separator: "\n").map(String.init)
    }

    func answer(username: String? = nil, password: String) throws {
        try makeFile(sandbox.root + "/answer-username", (username ?? "nobody") + "\n")
        try makeFile(sandbox.root + "/answer-password", password + "\n")
    }

    var environment: [String: String] {
        var env = sandbox.environment.merging(backendEnvironment) { $1 }
        env["GIT_ASKPASS"] = sandbox.root + "/askpass"
        env["GIT_TERMINAL_PROMPT"] = "0"
        env["GIT_CONFIG_NOSYSTEM"] = "1"
        env["GIT_AUTHOR_NAME"] = "t"
        env["GIT_AUTHOR_EMAIL"] = "t@example.com"
        env["GIT_COMMITTER_NAME"] = "t"
        env["GIT_COMMITTER_EMAIL"] = "t@example.com"
        env["DISPLAY"] = nil
        return env
    }

    @discardableResult
    func git(_ arguments: [String], in directory: String? = nil, stdin: String? = nil) throws -> RunResult {
        try runProcess("/usr/bin/git", arguments, environment: environment, stdin: stdin, directory: directory ?? work)
    }

    @discardableResult
    func keyway(_ arguments: [String], stdin: String? = nil) throws -> RunResult {
        try sandbox.run(arguments, env: backendEnvironment, stdin: stdin)
    }

    /// The git-credential profiles stored for this server's host.
    func storedProfiles() throws -> [String] {
        let list = try keyway(["list", "--json"])
        guard case .array(let credentials)? = try JSON.parse(list.stdout)["credentials"] else {
            Issue.record("no credentials: \(list)")
            return []
        }
        return credentials.filter { $0["app"] == .string("git-credential") }.compactMap { $0["profile"]?.stringValue }
            .filter { $0.contains(server.host) }.sorted()
    }

    func run() throws {
        let host = server.host
        // 1. The first clone prompts (answered through GIT_ASKPASS); the helper stores.
        try answer(username: "alice", password: "pw-alice-1")
        var result = try git(["clone", "-q", server.url(), "c1"])
        #expect(result.status == 0, "\(result)")
        #expect(prompts.count == 2, "username and password asked once: \(prompts)")
        #expect(try storedProfiles() == ["http://alice@\(host)"])
        let list = try keyway(["list"])
        #expect(!list.stdout.contains("pw-alice-1"), "masked: \(list)")

        // 2. The second clone needs no prompt; a push too.
        result = try git(["clone", "-q", server.url(), "c2"])
        #expect(result.status == 0, "\(result)")
        #expect(prompts.count == 2, "no new prompt: \(prompts)")
        try makeFile(work + "/c2/file", "x\n", mode: 0o644)
        try git(["add", "file"], in: work + "/c2")
        try git(["commit", "-q", "-m", "x"], in: work + "/c2")
        result = try git(["push", "-q", "origin", "main"], in: work + "/c2")
        #expect(result.status == 0, "\(result)")
        #expect(prompts.count == 2, "push without prompt: \(prompts)")

        // 3. A second account on the same host, selected by the username in the URL.
        try answer(password: "pw-bob-1")
        result = try git(["clone", "-q", server.url(user: "bob"), "c3"])
        #expect(result.status == 0, "\(result)")
        #expect(prompts.count == 3 && prompts.last?.hasPrefix("Password for 'http://bob@") == true, "\(prompts)")
        #expect(try storedProfiles() == ["http://alice@\(host)", "http://bob@\(host)"])
        for user in ["alice", "bob"] {
            result = try git(["clone", "-q", server.url(user: user), "c-\(user)"])
            #expect(result.status == 0, "\(result)")
        }
        #expect(prompts.count == 3, "each account without a prompt: \(prompts)")

        // 4. alice's password changes on the server: git erases the stale entry only; bob's stays.
        try server.setUsers(["alice": "pw-alice-2", "bob": "pw-bob-1"])
        result = try git(["clone", "-q", server.url(user: "alice"), "c4"])
        #expect(result.status == 128, "the stale password is rejected (git's fatal: Authentication failed): \(result)")
        #expect(try storedProfiles() == ["http://bob@\(host)"])
        try answer(password: "pw-alice-2")
        result = try git(["clone", "-q", server.url(user: "alice"), "c5"])
        #expect(result.status == 0, "\(result)")
        #expect(prompts.count == 4, "asked once for the new password: \(prompts)")
        result = try git(["credential", "fill"], stdin: "protocol=http\nhost=\(host)\nusername=alice\n\n")
        #expect(result.stdout.contains("password=pw-alice-2\n"), "\(result)")

        // 5. git credential fill/approve/reject, with the path (credential.useHttpPath).
        let withPath = ["-c", "credential.useHttpPath=true", "credential"]
        let carol = "protocol=https\nhost=\(host)\npath=p.git\nusername=carol\n"
        result = try git(withPath + ["approve"], stdin: carol + "password=pw-c\n\n")
        #expect(result.status == 0, "\(result)")
        #expect(try storedProfiles().contains("https://carol@\(host)/p.git"))
        result = try git(withPath + ["fill"], stdin: "protocol=https\nhost=\(host)\npath=p.git\n\n")
        #expect(result.stdout == carol + "password=pw-c\n", "\(result)")
        result = try git(withPath + ["fill"], stdin: "protocol=https\nhost=\(host)\npath=other.git\n\n")
        #expect(!result.stdout.contains("pw-c"), "another path: \(result)")
        result = try git(withPath + ["reject"], stdin: carol + "password=other\n\n")
        #expect(try storedProfiles().contains("https://carol@\(host)/p.git"), "a wrong password erases nothing")
        result = try git(withPath + ["reject"], stdin: carol + "password=pw-c\n\n")
        #expect(!(try storedProfiles().contains("https://carol@\(host)/p.git")))

        // Expiry and refresh token, as git 2.41+ sends them (Debian 12's git 2.39 drops both attributes).
        let future = Int(Date().timeIntervalSince1970) + 3600
        result = try keyway(
            ["git-credential", "store"],
            stdin: "protocol=https\nhost=\(host)\nusername=dave\npassword=pw-d\npassword_expiry_utc=\(future)\n"
                + "oauth_refresh_token=rt-dave\n")
        #expect(result.status == 0 && result.stdout.isEmpty, "\(result)")
        result = try keyway(["git-credential", "get"], stdin: "protocol=https\nhost=\(host)\nusername=dave\n")
        #expect(
            result.stdout
                == "protocol=https\nhost=\(host)\nusername=dave\npassword=pw-d\npassword_expiry_utc=\(future)\n"
                + "oauth_refresh_token=rt-dave\n", "\(result)")
        result = try keyway(
            ["git-credential", "store"],
            stdin: "protocol=https\nhost=\(host)\nusername=erin\npassword=pw-e\npassword_expiry_utc=1000\n")
        #expect(!(try storedProfiles().contains("https://erin@\(host)")), "an expired password is not stored")

        // Clean up what this test stored (the keyring is shared by the keyring suites).
        for user in ["alice", "bob"] {
            try git(["credential", "reject"], stdin: "protocol=http\nhost=\(host)\nusername=\(user)\n\n")
        }
        try keyway(["git-credential", "erase"], stdin: "protocol=https\nhost=\(host)\nusername=dave\n")
        #expect(try storedProfiles().isEmpty)
    }
}

@Suite struct GitCredentialEndToEndTests {
    @Test func plaintextBackend() throws {
        try GitCredentialScenario(backendEnvironment: ["KEYWAY_BACKEND": "plaintext"]).run()
    }

    /// A keyring that is not there: the helper says so on standard error, and git goes on to its own prompt.
    @Test func missingKeyringFallsBackToGitsPrompt() throws {
        let scenario = try GitCredentialScenario(backendEnvironment: [
            "KEYWAY_BACKEND": "keyring", "DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent/keyway-bus",
            "XDG_RUNTIME_DIR": "/nonexistent",
        ])
        try scenario.answer(username: "alice", password: "pw-prompted")
        let result = try scenario.git(["credential", "fill"], stdin: "protocol=https\nhost=h.example\n\n")
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout == "protocol=https\nhost=h.example\nusername=alice\npassword=pw-prompted\n", "\(result)")
        #expect(result.stderr.contains("Error: ") && result.stderr.contains("bus"), "\(result)")
        #expect(scenario.prompts.count == 2, "\(scenario.prompts)")
    }

    @Test func encryptedBackend() throws {
        try GitCredentialScenario(backendEnvironment: [
            "KEYWAY_BACKEND": "encrypted", "KEYWAY_VAULT_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        ]).run()
    }
}

@Suite(
    .enabled(
        if: KeyringCLI.enabled,
        "Keyring tests need a private Secret Service: run `scripts/with-keyring swift test` (they never use your own keyring)."
    ))
struct GitCredentialKeyringTests {
    @Test func keyringBackend() throws {
        try GitCredentialScenario(
            backendEnvironment: KeyringCLI.busEnvironment.merging(["KEYWAY_BACKEND": "keyring"]) {
                $1
            }
        ).run()
    }
}
