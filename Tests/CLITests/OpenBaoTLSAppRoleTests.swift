import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

/// Runs openssl, failing the test unless it exits 0.
private func openssl(_ arguments: [String], in directory: String) throws {
    let r = try captureOutput(
        "/usr/bin/openssl", arguments, environment: ["PATH": "/usr/bin:/bin"], directory: directory)
    guard r.status == 0 else { throw OpenBaoServer.Failure("openssl \(arguments.joined(separator: " ")): \(r)") }
}

/// A CA (`<name>.pem`, `<name>.key`) in `directory`.
private func makeCA(_ name: String, in directory: String) throws {
    try openssl(
        [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(name).key", "-out", "\(name).pem", "-days",
            "2", "-subj", "/CN=Keyway test \(name)",
        ], in: directory)
}

/// A server certificate (`server.pem`, `server.key`) signed by the CA `ca` in `directory`, naming `localhost` and
/// `openbao.test` only.
private func makeServerCertificate(in d: String) throws {
    try openssl(
        [
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj",
            "/CN=openbao.test",
        ], in: d)
    try writeFile(
        d + "/ext.cnf",
        "subjectAltName=DNS:localhost,DNS:openbao.test\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        mode: 0o600)
    try openssl(
        [
            "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
            "server.pem", "-days", "2", "-extfile", "ext.cnf",
        ], in: d)
}

@Suite struct OpenBaoTLSTests {
    /// A dev server with a second, TLS listener whose certificate (signed by a CA the test makes) names
    /// `localhost` and `openbao.test` only.
    @Test func certificateVerification() throws {
        let directory = try TemporaryDirectory(prefix: "keyway-tls")
        let d = directory.path
        try makeCA("ca", in: d)
        try makeCA("other-ca", in: d)
        try makeServerCertificate(in: d)
        // A client certificate for the listener that requires one.
        try openssl(
            [
                "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr", "-subj",
                "/CN=host-1",
            ],
            in: d)
        try writeFile(d + "/client.cnf", "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n", mode: 0o600)
        try openssl(
            [
                "x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
                "client.pem", "-days", "2", "-extfile", "client.cnf",
            ], in: d)
        let port = try freePort()
        let mutualPort = try freePort()
        let server = try OpenBaoServer(
            extraConfig: """
                listener "tcp" {
                  address = "127.0.0.1:\(port)"
                  tls_cert_file = "\(d)/server.pem"
                  tls_key_file = "\(d)/server.key"
                }
                listener "tcp" {
                  address = "127.0.0.1:\(mutualPort)"
                  tls_cert_file = "\(d)/server.pem"
                  tls_key_file = "\(d)/server.key"
                  tls_require_and_verify_client_cert = true
                  tls_client_ca_file = "\(d)/ca.pem"
                }
                """)
        try waitUntil("the TLS listeners on ports \(port), \(mutualPort)") {
            canConnect(port: port) && canConnect(port: mutualPort)
        }
        let sandbox = try openbaoSandbox(server)
        let key = "sk-openbao-tls-abcdefghijklmnop"
        // The right CA, the name on the certificate: works.
        let good = ["BAO_ADDR": "https://localhost:\(port)", "BAO_CACERT": d + "/ca.pem"]
        var r = try sandbox.run(["login", "openai"], env: good, stdin: key + "\n")
        #expect(r.status == 0, "\(r)")
        r = try sandbox.run(["get", "openai"], env: good)
        #expect(r.status == 0 && r.stdout == key + "\n", "\(r)")
        // VAULT_CACERT, as the vault CLI reads it.
        r = try sandbox.run(
            ["get", "openai"], env: ["BAO_ADDR": "https://localhost:\(port)", "VAULT_CACERT": d + "/ca.pem"])
        #expect(r.status == 0 && r.stdout == key + "\n", "\(r)")
        // BAO_CAPATH: a directory of hashed CA certificates.
        try FileManager.default.createDirectory(atPath: d + "/capath", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: d + "/ca.pem", toPath: d + "/capath/ca.pem")
        try openssl(["rehash", d + "/capath"], in: d)
        r = try sandbox.run(
            ["get", "openai"], env: ["BAO_ADDR": "https://localhost:\(port)", "BAO_CAPATH": d + "/capath"])
        #expect(r.status == 0 && r.stdout == key + "\n", "\(r)")
        // Another CA: refused, as a TLS failure (never "not found").
        r = try sandbox.run(
            ["get", "openai"], env: ["BAO_ADDR": "https://localhost:\(port)", "BAO_CACERT": d + "/other-ca.pem"])
        #expect(r.status == 2 && r.stderr.contains("TLS verification"), "\(r)")
        // No CA given: the system's CAs do not know this one.
        r = try sandbox.run(["get", "openai"], env: ["BAO_ADDR": "https://localhost:\(port)"])
        #expect(r.status == 2 && r.stderr.contains("TLS verification"), "\(r)")
        // An address whose name is not on the certificate: refused.
        let byIP = ["BAO_ADDR": "https://127.0.0.1:\(port)", "BAO_CACERT": d + "/ca.pem"]
        r = try sandbox.run(["get", "openai"], env: byIP)
        #expect(r.status == 2 && r.stderr.contains("TLS verification"), "\(r)")
        // BAO_TLS_SERVER_NAME: the name checked, while connecting to the address.
        r = try sandbox.run(["get", "openai"], env: byIP.merging(["BAO_TLS_SERVER_NAME": "openbao.test"]) { $1 })
        #expect(r.status == 0 && r.stdout == key + "\n", "\(r)")
        r = try sandbox.run(["get", "openai"], env: byIP.merging(["BAO_TLS_SERVER_NAME": "wrong.test"]) { $1 })
        #expect(r.status == 2 && r.stderr.contains("TLS verification"), "\(r)")
        // BAO_SKIP_VERIFY: honoured, with a warning on every run.
        for _ in 0..<2 {
            r = try sandbox.run(
                ["get", "openai"],
                env: [
                    "BAO_ADDR": "https://127.0.0.1:\(port)", "BAO_CACERT": d + "/other-ca.pem", "BAO_SKIP_VERIFY": "1",
                ])
            #expect(r.status == 0 && r.stdout == key + "\n" && r.stderr.contains("NOT verified"), "\(r)")
        }
        // A listener that requires a client certificate: refused without one, served with BAO_CLIENT_CERT/KEY.
        let mutual = ["BAO_ADDR": "https://localhost:\(mutualPort)", "BAO_CACERT": d + "/ca.pem"]
        r = try sandbox.run(["get", "openai"], env: mutual)
        #expect(r.status == 2 && !r.stderr.contains("not found"), "\(r)")
        r = try sandbox.run(
            ["get", "openai"],
            env: mutual.merging(["BAO_CLIENT_CERT": d + "/client.pem", "BAO_CLIENT_KEY": d + "/client.key"]) { $1 })
        #expect(r.status == 0 && r.stdout == key + "\n", "\(r)")
        r = try sandbox.run(
            ["get", "openai"],
            env: mutual.merging(["VAULT_CLIENT_CERT": d + "/client.pem", "VAULT_CLIENT_KEY": d + "/client.key"]) { $1 })
        #expect(r.status == 0 && r.stdout == key + "\n", "\(r)")
        // A plain-HTTP client of the TLS port gets an error, not a hang or "not found".
        r = try sandbox.run(["get", "openai"], env: ["BAO_ADDR": "http://127.0.0.1:\(port)"])
        #expect(r.status == 2, "\(r)")
        expectNotShown(r, [server.rootToken, key])
    }
}

@Suite struct OpenBaoAppRoleTests {
    @Test func appRoleLoginFromFiles() throws {
        let server = try openbaoServer.get()
        let sandbox = try openbaoSandbox(server)
        let prefix = sandbox.environment["KEYWAY_OPENBAO_PREFIX"]!
        let mount = "approle-\(getpid())"
        let role = "keyway-\(getpid())"
        try server.baoOK(["auth", "enable", "-path=\(mount)", "approle"])
        try server.baoOK(
            ["policy", "write", role, "-"],
            stdin: """
                path "secret/data/\(prefix)/*" { capabilities = ["create", "read", "update", "delete"] }
                path "secret/metadata/\(prefix)/*" { capabilities = ["create", "read", "update", "delete", "list"] }
                path "secret/metadata/\(prefix)" { capabilities = ["list"] }
                """)
        try server.baoOK(["write", "auth/\(mount)/role/\(role)", "token_policies=\(role)", "token_ttl=10m"])
        let roleID = try server.baoOK(["read", "-field=role_id", "auth/\(mount)/role/\(role)/role-id"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let secretID = try server.baoOK(["write", "-f", "-field=secret_id", "auth/\(mount)/role/\(role)/secret-id"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try writeFile(sandbox.root + "/role-id", roleID + "\n", mode: 0o600)
        try writeFile(sandbox.root + "/secret-id", secretID + "\n", mode: 0o600)
        let appRole = [
            "KEYWAY_OPENBAO_ROLE_ID_FILE": sandbox.root + "/role-id",
            "KEYWAY_OPENBAO_SECRET_ID_FILE": sandbox.root + "/secret-id", "KEYWAY_OPENBAO_APPROLE_MOUNT": mount,
        ]
        let key = "sk-openbao-approle-abcdefghijkl"
        // No token in the environment: the AppRole login gives one.
        var r = try sandbox.run(["login", "openai"], env: appRole, stdin: key + "\n", removing: ["BAO_TOKEN"])
        #expect(r.status == 0, "\(r)")
        r = try sandbox.run(["get", "openai"], env: appRole, removing: ["BAO_TOKEN"])
        #expect(r.status == 0 && r.stdout == key + "\n", "\(r)")
        r = try sandbox.run(["list", "--json"], env: appRole, removing: ["BAO_TOKEN"])
        #expect(r.status == 0 && r.stdout.contains("openai"), "\(r)")
        expectNotShown(r, [secretID, key])
        // The policy does not reach another prefix: permission denied, not "not found".
        r = try sandbox.run(
            ["get", "openai"], env: appRole.merging(["KEYWAY_OPENBAO_PREFIX": "elsewhere"]) { $1 },
            removing: ["BAO_TOKEN"])
        #expect(r.status == 2 && r.stderr.contains("Permission denied"), "\(r)")
        expectNotShown(r, [secretID])
        // A wrong secret id: refused, and not shown.
        try writeFile(sandbox.root + "/secret-id", "00000000-1111-2222-3333-444444444444\n", mode: 0o600)
        r = try sandbox.run(["get", "openai"], env: appRole, removing: ["BAO_TOKEN"])
        #expect(r.status == 2 && r.stderr.contains("refused the AppRole login"), "\(r)")
        expectNotShown(r, ["00000000-1111-2222-3333-444444444444", secretID])
        // A secret id file others can read: refused before anything is sent.
        try writeFile(sandbox.root + "/secret-id", secretID + "\n", mode: 0o644)
        r = try sandbox.run(["get", "openai"], env: appRole, removing: ["BAO_TOKEN"])
        #expect(r.status == 2 && r.stderr.contains("chmod 600"), "\(r)")
        expectNotShown(r, [secretID])
        // Only one of the two files: an error saying so.
        r = try sandbox.run(
            ["get", "openai"], env: ["KEYWAY_OPENBAO_ROLE_ID_FILE": sandbox.root + "/role-id"], removing: ["BAO_TOKEN"])
        #expect(r.status == 2 && r.stderr.contains("needs both"), "\(r)")
    }
}

/// A redirect never takes the token from https to http (issue 14: the token would travel in the clear). The
/// redirecting server is a stand-in for a hostile or misconfigured one (a Python https server that answers every
/// request with 307 to the real dev server's plain-http address); the same redirect from an http address is
/// followed, which shows the refusal is the downgrade's.
@Suite struct OpenBaoRedirectTests {
    static let redirector = """
        import http.server, signal, ssl, sys
        # The test process may block or ignore SIGTERM, and a child inherits that: the watcher's SIGTERM must end it.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        mode, port, target, directory = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
        class Redirect(http.server.BaseHTTPRequestHandler):
            def answer(self):
                self.send_response(307)
                self.send_header("Location", target + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
            do_GET = do_POST = do_PUT = do_DELETE = do_LIST = answer
            def log_message(self, *arguments):
                pass
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Redirect)
        if mode == "https":
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(directory + "/server.pem", directory + "/server.key")
            server.socket = context.wrap_socket(server.socket, server_side=True)
        server.serve_forever()
        """

    @Test func aRedirectFromHTTPSToHTTPIsRefused() throws {
        let directory = try TemporaryDirectory(prefix: "keyway-redirect")
        let d = directory.path
        try makeCA("ca", in: d)
        try makeServerCertificate(in: d)
        try writeFile(d + "/redirect.py", Self.redirector, mode: 0o600)
        let server = try openbaoServer.get()
        let sandbox = try openbaoSandbox(server)
        let key = "sk-openbao-redirect-abcdefghijklmnop"
        var r = try sandbox.run(["login", "openai"], stdin: key + "\n")
        #expect(r.status == 0, "\(r)")

        // Watched: they end with the test, even a crashed one (their output goes to a log, not the test's pipes).
        var redirectors: [WatchedProcess] = []
        defer { for process in redirectors { process.kill() } }
        var ports: [String: Int] = [:]
        for mode in ["https", "http"] {
            let port = try freePort()
            redirectors.append(
                try WatchedProcess(
                    "/usr/bin/python3", [d + "/redirect.py", mode, "\(port)", server.address, d],
                    environment: ["PATH": "/usr/bin:/bin"], log: d + "/redirect-\(mode).log"))
            ports[mode] = port
        }
        try waitUntil("the redirecting servers") { ports.values.allSatisfy { canConnect(port: $0) } }

        // From http: the redirect is followed to the dev server, which has the key.
        r = try sandbox.run(["get", "openai"], env: ["BAO_ADDR": "http://127.0.0.1:\(ports["http"]!)"])
        #expect(r.status == 0 && r.stdout == key + "\n", "\(r)")
        // From https (a certificate the client trusts): the redirect to http is not followed.
        r = try sandbox.run(
            ["get", "openai"],
            env: ["BAO_ADDR": "https://localhost:\(ports["https"]!)", "BAO_CACERT": d + "/ca.pem"])
        #expect(
            r.status == 2
                && r.stderr.contains(
                    "redirected the request to a plain http:// address, which Keyway does not follow from https"),
            "\(r)")
        expectNotShown(r, [server.rootToken, key])
    }
}
