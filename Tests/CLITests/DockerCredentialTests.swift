import Foundation
import Keyway
import KeywayTestSupport
import Testing

/// The Python `docker` SDK (PyPI `docker`) in a virtual environment: the one `scripts/test` made
/// (`KEYWAY_TEST_DOCKER_PYTHON`), else one made here with pip.
enum DockerSDK {
    static let python: Result<String, GitFailure> = {
        if let path = ProcessInfo.processInfo.environment["KEYWAY_TEST_DOCKER_PYTHON"], !path.isEmpty {
            return .success(path)
        }
        do {
            let directory = NSTemporaryDirectory() + "keyway-docker-sdk-\(getpid())"
            var result = try runProcess(
                "/usr/bin/python3", ["-m", "venv", directory], environment: ["PATH": "/usr/bin:/bin"])
            guard result.status == 0 else { return .failure(GitFailure(description: "venv: \(result)")) }
            var environment = ProcessInfo.processInfo.environment
            environment["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
            result = try runProcess(directory + "/bin/pip", ["install", "-q", "docker==7.*"], environment: environment)
            guard result.status == 0 else { return .failure(GitFailure(description: "pip install docker: \(result)")) }
            return .success(directory + "/bin/python")
        } catch {
            return .failure(GitFailure(description: "\(error)"))
        }
    }()
}

/// docker-credential-keyway as docker's clients run it, on each backend.
struct DockerCredentialScenario {
    let sandbox: Sandbox
    let backendEnvironment: [String: String]
    let bin: String

    init(backendEnvironment: [String: String]) throws {
        sandbox = try Sandbox()
        self.backendEnvironment = backendEnvironment
        bin = sandbox.root + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: bin + "/docker-credential-keyway", withDestinationPath: keywayBinary)
    }

    var environment: [String: String] {
        var env = sandbox.environment.merging(backendEnvironment) { $1 }
        env["PATH"] = bin + ":" + (env["PATH"] ?? "/usr/bin:/bin")
        return env
    }

    func helper(_ arguments: [String], stdin: String? = nil) throws -> RunResult {
        try runProcess(bin + "/docker-credential-keyway", arguments, environment: environment, stdin: stdin)
    }

    func run(tag: String) throws {
        let server = "https://registry-\(tag)-\(getpid()).example:5000"
        // The protocol, byte for byte.
        var result = try helper(
            ["store"], stdin: #"{"ServerURL":"\#(server)","Username":"alice","Secret":"docker-secret-1"}"#)
        #expect(result.status == 0 && result.stdout.isEmpty, "\(result)")
        result = try helper(["get"], stdin: server + "\n")
        #expect(result.stdout == #"{"ServerURL":"\#(server)","Username":"alice","Secret":"docker-secret-1"}"# + "\n")
        result = try helper(["get"], stdin: server + "/other")
        #expect(result.status == 1 && result.stdout == "credentials not found in native keychain\n", "\(result)")
        result = try helper(["get"], stdin: "  \n")
        #expect(result.status == 1 && result.stdout == "no credentials server URL\n", "\(result)")
        result = try helper(["store"], stdin: #"{"ServerURL":"\#(server)","Username":"","Secret":"x"}"#)
        #expect(result.status == 1 && result.stdout == "no credentials username\n", "\(result)")
        result = try helper(["store"], stdin: #"{"Username":"a","Secret":"x"}"#)
        #expect(result.status == 1 && result.stdout == "no credentials server URL\n", "\(result)")
        result = try helper(["frob"])
        #expect(result.status == 1 && result.stdout == "Unknown credential action `frob`\n", "\(result)")
        result = try helper(["version"])
        #expect(result.status == 0 && result.stdout.hasPrefix("docker-credential-keyway (keyway) "), "\(result)")
        // keyway docker-credential is the same program.
        result = try sandbox.run(["docker-credential", "get"], env: backendEnvironment, stdin: server)
        #expect(result.stdout.contains(#""Secret":"docker-secret-1""#), "\(result)")
        let list = try sandbox.run(["list"], env: backendEnvironment)
        #expect(list.stdout.contains("docker-credential") && !list.stdout.contains("docker-secret-1"), "\(list)")

        // The Python docker SDK's credential-store client.
        let python = try DockerSDK.python.get()
        let script = """
            import json, sys
            import docker.credentials as c
            s = c.Store("keyway")
            url = sys.argv[1]
            out = {}
            s.store(url + "/sdk", "<token>", "identity-token-1")
            out["get"] = s.get(url + "/sdk")
            out["list"] = s.list()
            try:
                s.get(url + "/missing")
                out["missing"] = "found"
            except c.errors.CredentialsNotFound as e:
                out["missing"] = "not found: " + str(e)
            s.erase(url + "/sdk")
            out["after"] = s.list()
            try:
                s.erase(url + "/sdk")
                out["erase-again"] = "ok"
            except c.errors.StoreError as e:
                out["erase-again"] = "error"
            print(json.dumps(out))
            """
        result = try runProcess(python, ["-c", script, server], environment: environment)
        #expect(result.status == 0, "\(result)")
        let out = try JSON.parse(result.stdout)
        #expect(
            out["get"]
                == .object([
                    ("ServerURL", .string(server + "/sdk")), ("Username", .string("<token>")),
                    ("Secret", .string("identity-token-1")),
                ]), "\(result)")
        #expect(out["list"]?[server] == .string("alice"))
        #expect(out["list"]?[server + "/sdk"] == .string("<token>"))
        #expect(out["missing"]?.stringValue?.hasPrefix("not found") == true, "\(result)")
        #expect(out["after"]?[server + "/sdk"] == nil)
        #expect(out["after"]?[server] == .string("alice"))
        #expect(out["erase-again"] == .string("error"))

        result = try helper(["erase"], stdin: server)
        #expect(result.status == 0 && result.stdout.isEmpty, "\(result)")
        result = try helper(["list"])
        #expect(!result.stdout.contains(server), "\(result)")
    }
}

@Suite struct DockerCredentialTests {
    @Test func parsesStoreLikeGo() throws {
        let credentials = try DockerCredentialProtocol.parseStore(
            Array(#"{"serverurl":"https://r","USERNAME":"u","Secret":"s","Extra":1}"#.utf8))
        #expect(credentials == .init(serverURL: "https://r", username: "u", secret: Secret("s")))
        #expect(throws: DockerCredentialProtocol.Failure("no credentials server URL")) {
            try DockerCredentialProtocol.parseStore(Array(#"{"ServerURL":" ","Username":"u"}"#.utf8))
        }
        #expect(throws: DockerCredentialProtocol.Failure.self) {
            try DockerCredentialProtocol.parseStore(Array("not json".utf8))
        }
    }

    /// The docker CLI (this machine kind ships the client, without an engine) logs in to a registry stub on
    /// loopback: with no engine it logs in client side, and stores and erases through `credsStore: keyway`.
    @Test func dockerCLILoginAndLogoutThroughCredsStore() throws {
        let scenario = try DockerCredentialScenario(backendEnvironment: ["KEYWAY_BACKEND": "plaintext"])
        let docker = try #require(
            ["/usr/local/bin/docker", "/usr/bin/docker"].first { FileManager.default.isExecutableFile(atPath: $0) },
            "the docker CLI is part of this machine kind (docker --version)")
        let root = scenario.sandbox.root
        let stub = try LoopbackPythonServer(script: registryStub, in: root, lifetime: 120)
        defer { withExtendedLifetime(stub) {} }
        let registry = "127.0.0.1:\(stub.port)"
        try makeFile(root + "/docker/config.json", #"{"credsStore": "keyway"}"#)
        var env = scenario.environment
        env["DOCKER_CONFIG"] = root + "/docker"
        env["DOCKER_HOST"] = "unix://" + root + "/no-engine.sock"
        var result = try runProcess(
            docker, ["login", registry, "-u", "alice", "--password-stdin"], environment: env, stdin: "pw-registry-1\n")
        #expect(result.status == 0 && result.stdout.contains("Login Succeeded"), "\(result)")
        result = try scenario.helper(["get"], stdin: registry)
        #expect(result.stdout == #"{"ServerURL":"\#(registry)","Username":"alice","Secret":"pw-registry-1"}"# + "\n")
        let config = try String(contentsOfFile: root + "/docker/config.json", encoding: .utf8)
        #expect(!config.contains("pw-registry-1") && !config.contains("\"auth\""), "\(config)")
        result = try runProcess(docker, ["logout", registry], environment: env)
        #expect(result.status == 0, "\(result)")
        result = try scenario.helper(["get"], stdin: registry)
        #expect(result.stdout == "credentials not found in native keychain\n", "\(result)")
    }

    /// A secret an API key could not be (a tab, empty) is kept encoded and given back as it was.
    @Test func secretsKeyRulesRefuseAreKept() throws {
        let scenario = try DockerCredentialScenario(backendEnvironment: ["KEYWAY_BACKEND": "plaintext"])
        for (index, secret) in ["tab\\there", "", "  "].enumerated() {
            let url = "https://odd-\(index).example"
            var result = try scenario.helper(
                ["store"], stdin: #"{"ServerURL":"\#(url)","Username":"u","Secret":"\#(secret)"}"#)
            #expect(result.status == 0, "\(result)")
            result = try scenario.helper(["get"], stdin: url)
            #expect(
                result.stdout == #"{"ServerURL":"\#(url)","Username":"u","Secret":"\#(secret)"}"# + "\n", "\(result)")
        }
    }

    @Test func plaintextBackend() throws {
        try DockerCredentialScenario(backendEnvironment: ["KEYWAY_BACKEND": "plaintext"]).run(tag: "plain")
    }

    @Test func encryptedBackend() throws {
        try DockerCredentialScenario(backendEnvironment: [
            "KEYWAY_BACKEND": "encrypted", "KEYWAY_VAULT_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        ]).run(tag: "enc")
    }
}

/// A registry's `/v2/` on loopback, requiring HTTP Basic `alice:pw-registry-1` (what `docker login` checks).
let registryStub = #"""
    import base64, http.server, sys, threading
    want = "Basic " + base64.b64encode(b"alice:pw-registry-1").decode()
    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a): pass
        def do_GET(self):
            if self.headers.get("Authorization") == want:
                self.send_response(200); self.send_header("Content-Length", "2"); self.send_header("Docker-Distribution-API-Version", "registry/2.0"); self.end_headers(); self.wfile.write(b"{}")
            else:
                self.send_response(401); self.send_header("WWW-Authenticate", 'Basic realm="r"'); self.send_header("Docker-Distribution-API-Version", "registry/2.0"); self.send_header("Content-Length", "0"); self.end_headers()
    s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Timer(float(sys.argv[2]), s.shutdown).start()
    open(sys.argv[1], "w").write(str(s.server_address[1]))
    s.serve_forever()
    """#

@Suite(
    .enabled(
        if: KeyringCLI.enabled,
        "Keyring tests need a private Secret Service: run `scripts/with-keyring swift test` (they never use your own keyring)."
    ))
struct DockerCredentialKeyringTests {
    @Test func keyringBackend() throws {
        try DockerCredentialScenario(
            backendEnvironment: KeyringCLI.busEnvironment.merging(["KEYWAY_BACKEND": "keyring"]) { $1 }
        ).run(tag: "keyring")
    }
}
