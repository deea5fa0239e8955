import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

/// A Python script (standard library only) serving on loopback, started by a test: it is run as
/// `python3 SCRIPT ARGS... PORT-FILE LIFETIME`, writes the port it listens on to PORT-FILE and stops by itself after
/// LIFETIME seconds; it is killed when this object goes.
final class LoopbackPythonServer {
    let process = Process()
    let port: Int

    init(script: String, arguments: [String] = [], in directory: String, lifetime: Int = 300) throws {
        let path = directory + "/server-\(UInt32.random(in: 0...UInt32.max)).py"
        try script.write(toFile: path, atomically: false, encoding: .utf8)
        let portFile = path + ".port"
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [path] + arguments + [portFile, String(lifetime)]
        process.environment = ["PATH": "/usr/bin:/bin", "HOME": directory]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var found: Int?
        do {
            try waitUntil("the test server \(path) to write its port", timeout: 20, interval: 0.02) {
                found = (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { Int($0) }
                return found != nil
            }
        } catch {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw error
        }
        port = found!
    }

    deinit {
        // SIGKILL: a child started from a test thread may have SIGTERM blocked (the mask is inherited).
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// A smart-HTTP git server on loopback that requires HTTP Basic auth: `git http-backend` as CGI behind a small
/// Python server (`LoopbackPythonServer`), started per test and stopped at the end.
final class GitHTTPServer {
    let directory: TemporaryDirectory
    let usersFile: String
    let root: String
    private var server: LoopbackPythonServer?
    var port: Int { server?.port ?? 0 }

    init(users: [String: String], lifetime: Int = 300) throws {
        directory = try TemporaryDirectory(prefix: "keyway-githttp")
        usersFile = directory.path + "/users"
        root = directory.path + "/root"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try git(["init", "-q", "--bare", "-b", "main", root + "/repo.git"], in: directory.path)
        try git(["config", "http.receivepack", "true"], in: root + "/repo.git")
        let work = directory.path + "/work"
        try git(["init", "-q", "-b", "main", work], in: directory.path)
        try makeFile(work + "/README", "hello\n", mode: 0o644)
        try git(["add", "README"], in: work)
        try git(["commit", "-q", "-m", "init"], in: work)
        try git(["push", "-q", root + "/repo.git", "main"], in: work)
        try setUsers(users)
        server = try LoopbackPythonServer(
            script: Self.script, arguments: [root, usersFile], in: directory.path, lifetime: lifetime)
    }

    /// Replaces the accounts the server accepts.
    func setUsers(_ users: [String: String]) throws {
        try users.map { "\($0.key):\($0.value)\n" }.joined().write(toFile: usersFile, atomically: true, encoding: .utf8)
    }

    var host: String { "127.0.0.1:\(port)" }
    func url(user: String? = nil) -> String { "http://\(user.map { "\($0)@" } ?? "")\(host)/repo.git" }

    static let script = #"""
        # A smart-HTTP git server on loopback for Keyway's tests: git http-backend as CGI, behind HTTP Basic auth checked
        # against USERS_FILE (user:password lines, read on every request so a test can change a password). Writes its port
        # to PORT_FILE; stops by itself after LIFETIME seconds.
        import base64, http.server, os, subprocess, sys, threading

        root, users_file, port_file, lifetime = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])

        def users():
            with open(users_file) as f:
                return dict(line.rstrip("\n").split(":", 1) for line in f if ":" in line)

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"
            def log_message(self, *args): pass
            def do_GET(self): self.handle_git()
            def do_POST(self): self.handle_git()
            def handle_git(self):
                auth = self.headers.get("Authorization", "")
                user = None
                if auth.startswith("Basic "):
                    name, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                    if users().get(name) == password: user = name
                if user is None:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="keyway-test"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                path, _, query = self.path.partition("?")
                env = {"PATH": "/usr/bin:/bin", "GIT_PROJECT_ROOT": root, "GIT_HTTP_EXPORT_ALL": "1", "REMOTE_USER": user,
                       "REQUEST_METHOD": self.command, "PATH_INFO": path, "QUERY_STRING": query,
                       "CONTENT_TYPE": self.headers.get("Content-Type", ""), "GATEWAY_INTERFACE": "CGI/1.1",
                       "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.0"}
                if self.headers.get("Content-Encoding"): env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
                if self.headers.get("Git-Protocol"): env["HTTP_GIT_PROTOCOL"] = self.headers["Git-Protocol"]
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if length: env["CONTENT_LENGTH"] = str(length)
                out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, timeout=60).stdout
                head, _, payload = out.partition(b"\r\n\r\n")
                status = 200
                headers = []
                for line in head.split(b"\r\n"):
                    name, _, value = line.decode().partition(":")
                    if name.lower() == "status": status = int(value.strip().split()[0])
                    elif name: headers.append((name, value.strip()))
                self.send_response(status)
                for name, value in headers: self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Timer(lifetime, server.shutdown).start()
        with open(port_file + ".tmp", "w") as f: f.write(str(server.server_address[1]))
        os.rename(port_file + ".tmp", port_file)
        server.serve_forever()
        """#
}
