import Foundation
import KeywayCore
import KeywayTestSupport
import Synchronization
import Testing

/// One dev server for the end-to-end tests that leave it usable (each test has its own prefix); tests that seal or
/// kill a server start their own.
let openbaoServer = Result { try OpenBaoServer() }
let openbaoPrefixes = Counter()

/// A sandbox whose runs use the OpenBao backend against `server`, under a prefix of their own.
func openbaoSandbox(_ server: OpenBaoServer, backend: String? = "openbao") throws -> Sandbox {
    let sandbox = try Sandbox(backend: backend)
    sandbox.environment.merge(server.clientEnvironment) { $1 }
    sandbox.environment["KEYWAY_OPENBAO_PREFIX"] = "cli-\(openbaoPrefixes.next())-\(getpid())"
    return sandbox
}

/// Neither output of `run` holds `secret`.
func expectNotShown(_ run: RunResult, _ secrets: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    for secret in secrets {
        #expect(
            !run.stdout.contains(secret) && !run.stderr.contains(secret), "a secret was printed: \(run)",
            sourceLocation: sourceLocation)
    }
}

@Suite struct OpenBaoCLITests {
    let key = "sk-openbao-cli-abcdefghijklmnop"

    @Test func loginGetListStatusLogout() throws {
        let server = try openbaoServer.get()
        let sandbox = try openbaoSandbox(server)
        var r = try sandbox.run(
            ["login", "openai", "--account", "me@example.com", "--scopes", "a,b"], stdin: key + "\n")
        #expect(r.status == 0 && r.stdout.contains("openbao store"), "\(r)")
        r = try sandbox.run(["get", "openai"])
        #expect(r.status == 0 && r.stdout == key + "\n", "\(r)")
        r = try sandbox.run(["list", "--json"])
        #expect(r.status == 0 && r.stdout.contains("\"openbao\"") && r.stdout.contains("me@example.com"), "\(r)")
        expectNotShown(r, [key, server.rootToken])
        r = try sandbox.run(["status"])
        #expect(r.status == 0 && r.stdout.contains("openai"), "\(r)")
        expectNotShown(r, [key, server.rootToken])
        r = try sandbox.run(["backends", "--json"])
        #expect(
            r.status == 0 && r.stdout.contains("\"name\" : \"openbao\"") || r.stdout.contains("\"openbao\""), "\(r)")
        r = try sandbox.run(["logout", "openai"])
        #expect(r.status == 0, "\(r)")
        r = try sandbox.run(["get", "openai"])
        #expect(r.status == 1, "\(r)")
        #expect(
            try server.bao([
                "kv", "metadata", "get", "secret/\(sandbox.environment["KEYWAY_OPENBAO_PREFIX"]!)/openai/default",
            ]).status != 0)
    }

    @Test func tokenFromEachSource() throws {
        let server = try openbaoServer.get()
        let sandbox = try openbaoSandbox(server)
        var r = try sandbox.run(["login", "openai"], stdin: key + "\n")
        #expect(r.status == 0, "\(r)")
        // BAO_TOKEN wins over VAULT_TOKEN.
        r = try sandbox.run(["get", "openai"], env: ["VAULT_TOKEN": "not-a-token"])
        #expect(r.status == 0 && r.stdout == key + "\n", "\(r)")
        // VAULT_ADDR and VAULT_TOKEN, as the vault CLI reads them.
        r = try sandbox.run(
            ["get", "openai"], env: ["VAULT_ADDR": server.address, "VAULT_TOKEN": server.rootToken],
            removing: ["BAO_ADDR", "BAO_TOKEN"])
        #expect(r.status == 0 && r.stdout == key + "\n", "\(r)")
        // ~/.vault-token, mode 0600.
        let tokenFile = sandbox.home + "/.vault-token"
        try writeFile(tokenFile, server.rootToken, mode: 0o600)
        r = try sandbox.run(["get", "openai"], removing: ["BAO_TOKEN"])
        #expect(r.status == 0 && r.stdout == key + "\n", "\(r)")
        // Readable by others: refused, whatever it holds.
        try writeFile(tokenFile, server.rootToken, mode: 0o644)
        r = try sandbox.run(["get", "openai"], removing: ["BAO_TOKEN"])
        #expect(r.status == 2 && r.stderr.contains("chmod 600") && r.stderr.contains(".vault-token"), "\(r)")
        expectNotShown(r, [key, server.rootToken])
        // No token anywhere.
        try FileManager.default.removeItem(atPath: tokenFile)
        r = try sandbox.run(["get", "openai"], removing: ["BAO_TOKEN"])
        #expect(r.status == 2 && r.stderr.contains("No OpenBao token"), "\(r)")
    }

    @Test func failureStatesOfALiveServer() throws {
        let server = try openbaoServer.get()
        let sandbox = try openbaoSandbox(server)
        #expect(try sandbox.run(["login", "openai"], stdin: key + "\n").status == 0)
        // A revoked token.
        let revoked = try server.baoOK(["token", "create", "-ttl=1h", "-field=token"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try server.baoOK(["token", "revoke", revoked])
        var r = try sandbox.run(["get", "openai"], env: ["BAO_TOKEN": revoked])
        #expect(r.status == 2 && r.stderr.contains("refused the token from BAO_TOKEN"), "\(r)")
        expectNotShown(r, [revoked, key])
        r = try sandbox.run(["list", "--json"], env: ["BAO_TOKEN": revoked])
        #expect(r.status == 2 && r.stdout.contains("\"error\""), "\(r)")
        expectNotShown(r, [revoked, key])
        // A token whose policies do not reach the prefix.
        let limited = try server.token(
            policy: "elsewhere-\(getpid())", rules: #"path "secret/data/elsewhere/*" { capabilities = ["read"] }"#)
        r = try sandbox.run(["get", "openai"], env: ["BAO_TOKEN": limited])
        #expect(r.status == 2 && r.stderr.contains("Permission denied"), "\(r)")
        expectNotShown(r, [limited, key])
        // A KV version 1 mount.
        let v1 = "kv1-\(getpid())"
        try server.baoOK(["secrets", "enable", "-path=\(v1)", "-version=1", "kv"])
        r = try sandbox.run(["get", "openai"], env: ["KEYWAY_OPENBAO_MOUNT": v1])
        #expect(r.status == 2 && r.stderr.contains("KV version 1"), "\(r)")
        r = try sandbox.run(["login", "openai"], env: ["KEYWAY_OPENBAO_MOUNT": v1], stdin: key + "\n")
        #expect(r.status == 2 && r.stderr.contains("KV version 1"), "\(r)")
        #expect(try server.bao(["kv", "list", "\(v1)/"]).stdout.contains("data") == false, "a KV v1 write happened")
        // No such mount.
        r = try sandbox.run(["get", "openai"], env: ["KEYWAY_OPENBAO_MOUNT": "no-such-mount"])
        #expect(r.status == 2 && r.stderr.contains("no secrets engine mounted at 'no-such-mount'"), "\(r)")
        // A namespace the server does not have.
        r = try sandbox.run(["get", "openai"], env: ["BAO_NAMESPACE": "no-such-namespace"])
        #expect(r.status == 2 && r.stderr.contains("namespace 'no-such-namespace'"), "\(r)")
        // None of these is "not found".
        r = try sandbox.run(["backends"], env: ["BAO_TOKEN": revoked])
        #expect(r.stdout.contains("refused the token"), "\(r)")
    }

    @Test func sealedServer() throws {
        let server = try OpenBaoServer()
        let sandbox = try openbaoSandbox(server)
        #expect(try sandbox.run(["login", "openai"], stdin: key + "\n").status == 0)
        try server.baoOK(["operator", "seal"])
        let r = try sandbox.run(["get", "openai"])
        #expect(r.status == 2 && r.stderr.contains("is sealed"), "\(r)")
    }

    @Test func killedServerAndClosedPort() throws {
        let server = try OpenBaoServer()
        let sandbox = try openbaoSandbox(server)
        #expect(try sandbox.run(["login", "openai"], stdin: key + "\n").status == 0)
        server.kill()
        let start = Date()
        let r = try sandbox.run(["get", "openai"])
        #expect(r.status == 2 && r.stderr.contains("Cannot connect to the OpenBao server"), "\(r)")
        #expect(Date().timeIntervalSince(start) < 5)
    }

    /// A port that accepts connections and never answers: the error comes within KEYWAY_OPENBAO_TIMEOUT.
    @Test func silentServerTimesOut() throws {
        let listener = try SilentListener()
        let sandbox = try Sandbox(backend: "openbao")
        let start = Date()
        let r = try sandbox.run(
            ["get", "openai"],
            env: [
                "BAO_ADDR": "http://127.0.0.1:\(listener.port)", "BAO_TOKEN": "silent-token",
                "KEYWAY_OPENBAO_TIMEOUT": "1",
            ])
        let elapsed = Date().timeIntervalSince(start)
        #expect(r.status == 2 && r.stderr.contains("did not answer within 1 s"), "\(r)")
        #expect(elapsed >= 0.9 && elapsed < 4, "took \(elapsed) s")
        expectNotShown(r, ["silent-token"])
    }

    @Test func migrateToOpenBaoAndBack() throws {
        let server = try openbaoServer.get()
        let sandbox = try openbaoSandbox(server, backend: nil)
        let prefix = sandbox.environment["KEYWAY_OPENBAO_PREFIX"]!
        var r = try sandbox.run(
            ["login", "openai", "--backend", "plaintext", "--account", "me", "--expires", "2031-02-03"],
            stdin: key + "\n")
        #expect(r.status == 0, "\(r)")
        r = try sandbox.run(["login", "github", "--profile", "../work", "--backend", "plaintext"], stdin: key + "2\n")
        #expect(r.status == 0, "\(r)")
        r = try sandbox.run(["migrate", "--to", "openbao"])
        #expect(r.status == 0 && r.stdout.contains("2 credentials now in the openbao store"), "\(r)")
        #expect(try server.baoOK(["kv", "get", "-field=api_key", "secret/\(prefix)/openai/default"]) == key)
        r = try sandbox.run(["list", "--backend", "plaintext"])
        #expect(!r.stdout.contains("openai"), "\(r)")
        r = try sandbox.run(["migrate", "--to", "plaintext"])
        #expect(r.status == 0 && r.stdout.contains("2 credentials now in the plaintext store"), "\(r)")
        r = try sandbox.run(["get", "openai", "--backend", "plaintext"])
        #expect(r.stdout == key + "\n", "\(r)")
        r = try sandbox.run(["get", "github", "--profile", "../work", "--backend", "plaintext"])
        #expect(r.stdout == key + "2\n", "\(r)")
        r = try sandbox.run(["list", "--json", "--backend", "plaintext"])
        #expect(r.stdout.contains("2031-02-03"), "\(r)")
        #expect(try server.bao(["kv", "list", "secret/\(prefix)/"]).status != 0, "openbao still holds entries")
    }

    /// `auto` never picks OpenBao because VAULT_ADDR and a token happen to be set.
    @Test func autoNeverPicksOpenBaoUnconfigured() throws {
        let server = try openbaoServer.get()
        let sandbox = try Sandbox()
        let env = ["VAULT_ADDR": server.address, "VAULT_TOKEN": server.rootToken]
        var r = try sandbox.run(["login", "auto-check-\(getpid())"], env: env, stdin: key + "\n")
        #expect(r.status == 0 && r.stdout.contains("plaintext"), "\(r)")
        #expect(try server.bao(["kv", "list", "secret/keyway/"]).stdout.contains("auto-check") == false)
        r = try sandbox.run(["backends"], env: env)
        #expect(
            r.stdout.contains("openbao\n  Usable:   yes") && r.stdout.contains("plaintext (auto writes here)"), "\(r)")
        r = try sandbox.run(["backends"])
        #expect(r.stdout.contains("no server address: set BAO_ADDR"), "\(r)")
    }
}

@Suite struct OpenBaoLeakCheckTests {
    /// leak-check matches the keys the OpenBao store holds (when Keyway is configured for it), and reports a
    /// server it cannot read with exit 2.
    @Test func storedKeysAreMatched() throws {
        let server = try openbaoServer.get()
        let sandbox = try openbaoSandbox(server)
        let value = "Hq4Zr8Kt2Mv6Px9Lb3Nc7Wd1Openbao"
        #expect(try sandbox.run(["login", "deployer"], stdin: value + "\n").status == 0)
        let root = sandbox.root + "/repo"
        try GitFixture.initialize(root)
        try GitFixture.write(root, "deploy.sh", "curl -H 'X-Key: \(value)' https://example.invalid\n")
        var r = try sandbox.run(
            ["leak-check", root, "--no-home", "--format", "json"], env: GitFixture.plainEnvironment)
        #expect(r.status == 1 && r.stdout.contains("keyway-stored-key") && r.stdout.contains("deployer"), "\(r)")
        expectNotShown(r, [value, server.rootToken])
        r = try sandbox.run(
            ["leak-check", root, "--no-home", "--format", "json"],
            env: GitFixture.plainEnvironment.merging(["BAO_TOKEN": "not-a-token"]) { $1 })
        #expect(r.status == 2 && r.stderr.contains("openbao store"), "\(r)")
    }
}

/// A command that fails before its first request exits with its own status, never a signal: libcurl starts loading
/// on a thread of its own as soon as the OpenBao backend is configured, and an early exit() used to tear libraries
/// down under that thread (SIGSEGV, measured in 8 of 300 runs of the release build and 1 of 300
/// of the debug build). Needs no server: the refused secret id file stops the command before anything is sent.
@Suite struct OpenBaoEarlyExitTests {
    @Test func earlyErrorsExitCleanlyWhileLibcurlLoads() throws {
        let sandbox = try Sandbox(backend: "openbao")
        try writeFile(sandbox.root + "/role-id", "role\n", mode: 0o600)
        try writeFile(sandbox.root + "/secret-id", "secret\n", mode: 0o644)
        sandbox.environment.merge([
            "BAO_ADDR": "http://127.0.0.1:1", "KEYWAY_OPENBAO_ROLE_ID_FILE": sandbox.root + "/role-id",
            "KEYWAY_OPENBAO_SECRET_ID_FILE": sandbox.root + "/secret-id",
        ]) { $1 }
        let failures = Mutex<[String]>([])
        // Two at a time (the machine's cores), 300 runs each.
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            for _ in 0..<300 {
                do {
                    let r = try sandbox.run(["get", "openai"])
                    if r.status != 2 || !r.stderr.contains("chmod 600") {
                        failures.withLock { $0.append("\(r)") }
                    }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        let seen = failures.withLock { $0 }
        #expect(seen.isEmpty, "\(seen.count) of 600 runs: \(seen.first ?? "")")
    }
}
