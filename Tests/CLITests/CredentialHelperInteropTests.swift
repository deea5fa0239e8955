import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

/// Builds the C program `source` against libsecret (gcc, libsecret-1-dev) into `output`.
func buildLibsecretProgram(_ source: String, output: String) -> Result<String, GitFailure> {
    do {
        let flags = try runProcess(
            "/usr/bin/pkg-config", ["--cflags", "--libs", "libsecret-1", "glib-2.0"],
            environment: ["PATH": "/usr/bin:/bin"])
        guard flags.status == 0 else { return .failure(GitFailure(description: "pkg-config: \(flags)")) }
        let arguments =
            ["-O2", "-o", output, source] + flags.stdout.split(whereSeparator: \.isWhitespace).map(String.init)
        let build = try runProcess("/usr/bin/gcc", arguments, environment: ["PATH": "/usr/bin:/bin"])
        guard build.status == 0 else { return .failure(GitFailure(description: "gcc: \(build)")) }
        return .success(output)
    } catch {
        return .failure(GitFailure(description: "\(error)"))
    }
}

/// git-credential-libsecret, built from git's contrib sources (Debian's git ships them in
/// /usr/share/doc/git/contrib/credential/libsecret) with gcc and libsecret-1-dev.
enum LibsecretHelper {
    static let binary: Result<String, GitFailure> = buildLibsecretProgram(
        "/usr/share/doc/git/contrib/credential/libsecret/git-credential-libsecret.c",
        output: NSTemporaryDirectory() + "keyway-git-credential-libsecret-\(getpid())")
}

/// Keyway reads the keyring items of git-credential-libsecret and docker-credential-secretservice (Debian's
/// golang-docker-credential-helpers), erases them as git and docker ask, and `keyway import git|docker` copies them.
/// Serialized: `import ... --remove` takes every such item on the shared test keyring, so two of these tests at once
/// would import (and delete) each other's items.
@Suite(
    .serialized,
    .enabled(
        if: KeyringCLI.enabled,
        "Keyring tests need a private Secret Service: run `scripts/with-keyring swift test` (they never use your own keyring)."
    ))
struct CredentialHelperInteropTests {
    let sandbox: Sandbox
    let env: [String: String]
    let tag = "\(getpid())-\(KeyringCLI.counter.next())"

    init() throws {
        sandbox = try Sandbox()
        env = KeyringCLI.busEnvironment.merging(["KEYWAY_BACKEND": "keyring"]) { $1 }
    }

    func other(_ program: String, _ arguments: [String], stdin: String) throws -> RunResult {
        try runProcess(
            program, arguments, environment: sandbox.environment.merging(env) { $1 }, stdin: stdin)
    }

    /// The other helper's command (a `store` that sets up what Keyway then reads, a lookup that checks an item is
    /// still there), run again when it fails (`repeatedWhileFailing`).
    @discardableResult
    func otherRepeatingFailures(_ program: String, _ arguments: [String] = ["store"], stdin: String) throws -> RunResult
    {
        try repeatedWhileFailing { try other(program, arguments, stdin: stdin) }
    }

    /// git-credential-libsecret's `get` of `request`, run again until its output holds `value` (see
    /// `repeatedWhileFailing`): a read of the secret that KWallet fails now and then (its session-key bug) leaves
    /// the output empty. A value that is really missing still fails the test.
    func lookUp(_ libsecret: String, _ request: String, finding value: String) throws -> RunResult {
        try repeatedWhileFailing(until: { $0.stdout.contains(value) }) { try other(libsecret, ["get"], stdin: request) }
    }

    /// The other way: git-credential-libsecret finds what Keyway stored where the formats allow (a bare password,
    /// no expiry, no refresh token), and nothing where they do not (it would take Keyway's encoded secret for the
    /// password, or use the password past its expiry); Keyway does not count its own items twice.
    @Test func libsecretReadsWhatKeywayStored() throws {
        let libsecret = try LibsecretHelper.binary.get()
        let host = "kw-\(tag).example:8443"
        var result = try sandbox.run(
            ["git-credential", "store"], env: env,
            stdin: "protocol=https\nhost=\(host)\npath=team/repo.git\nusername=kwuser\npassword=pw-kw-1\n")
        #expect(result.status == 0 && result.stdout.isEmpty, "\(result)")
        result = try lookUp(libsecret, "protocol=https\nhost=\(host)\n", finding: "password=pw-kw-1\n")
        #expect(result.stdout.contains("username=kwuser\npassword=pw-kw-1\n"), "\(result)")
        result = try lookUp(
            libsecret, "protocol=https\nhost=\(host)\npath=team/repo.git\n", finding: "password=pw-kw-1\n")
        #expect(result.stdout.contains("password=pw-kw-1\n"), "with the path: \(result)")
        result = try other(libsecret, ["get"], stdin: "protocol=https\nhost=\(host)\nusername=other\n")
        #expect(!result.stdout.contains("password="), "another user: \(result)")
        // Keyway answers with its one entry, not a second copy of it read as libsecret's.
        result = try sandbox.run(["git-credential", "get"], env: env, stdin: "protocol=https\nhost=\(host)\n")
        #expect(
            result.stdout == "protocol=https\nhost=\(host)\nusername=kwuser\npassword=pw-kw-1\n"
                && result.stderr.isEmpty, "\(result)")

        // A refresh token beside the password, or an expiry: not for libsecret's helper.
        let tokenHost = "kwtok-\(tag).example"
        result = try sandbox.run(
            ["git-credential", "store"], env: env,
            stdin: "protocol=https\nhost=\(tokenHost)\nusername=kwuser\npassword=pw-kw-2\noauth_refresh_token=rt-kw\n")
        #expect(result.status == 0, "\(result)")
        #expect(try other(libsecret, ["get"], stdin: "protocol=https\nhost=\(tokenHost)\n").stdout.isEmpty)
        let expiryHost = "kwexp-\(tag).example"
        result = try sandbox.run(
            ["git-credential", "store"], env: env,
            stdin: "protocol=https\nhost=\(expiryHost)\nusername=kwuser\npassword=pw-kw-3\n"
                + "password_expiry_utc=\(Int(Date().timeIntervalSince1970) + 3600)\n")
        #expect(result.status == 0, "\(result)")
        #expect(try other(libsecret, ["get"], stdin: "protocol=https\nhost=\(expiryHost)\n").stdout.isEmpty)
        result = try sandbox.run(["git-credential", "get"], env: env, stdin: "protocol=https\nhost=\(tokenHost)\n")
        #expect(result.stdout.contains("password=pw-kw-2\noauth_refresh_token=rt-kw\n"), "\(result)")

        // Keyway's erase removes the item libsecret's helper read.
        for h in [host, tokenHost, expiryHost] {
            result = try sandbox.run(
                ["git-credential", "erase"], env: env, stdin: "protocol=https\nhost=\(h)\nusername=kwuser\n")
            #expect(result.status == 0, "\(result)")
        }
        #expect(try other(libsecret, ["get"], stdin: "protocol=https\nhost=\(host)\n").stdout.isEmpty)
    }

    @Test func gitReadsAndErasesLibsecretItemsAndImportsThem() throws {
        let libsecret = try LibsecretHelper.binary.get()
        let host = "lib-\(tag).example:8443"
        var result = try otherRepeatingFailures(
            libsecret, stdin: "protocol=https\nhost=\(host)\nusername=libuser\npassword=pw-lib-1\n")
        #expect(result.status == 0, "\(result)")
        // Keyway's get finds it.
        result = try sandbox.run(["git-credential", "get"], env: env, stdin: "protocol=https\nhost=\(host)\n")
        #expect(result.stdout == "protocol=https\nhost=\(host)\nusername=libuser\npassword=pw-lib-1\n", "\(result)")
        // A stale password erases nothing; the right one erases the libsecret item.
        result = try sandbox.run(
            ["git-credential", "erase"], env: env, stdin: "protocol=https\nhost=\(host)\nusername=libuser\npassword=x\n"
        )
        #expect(
            try lookUp(libsecret, "protocol=https\nhost=\(host)\n", finding: "pw-lib-1").stdout.contains("pw-lib-1"))
        result = try sandbox.run(
            ["git-credential", "erase"], env: env,
            stdin: "protocol=https\nhost=\(host)\nusername=libuser\npassword=pw-lib-1\n")
        #expect(result.status == 0, "\(result)")
        #expect(try other(libsecret, ["get"], stdin: "protocol=https\nhost=\(host)\n").stdout.isEmpty)

        // keyway import git: a libsecret item and ~/.git-credentials; --remove deletes the originals.
        try otherRepeatingFailures(
            libsecret, stdin: "protocol=https\nhost=\(host)\nusername=libuser\npassword=pw-lib-2\n")
        let fileHost = "file-\(tag).example"
        try makeFile(sandbox.home + "/.git-credentials", "https://fileuser:pw%40file@\(fileHost)\n")
        result = try sandbox.run(["import", "git"], env: env)
        #expect(result.status == 0, "\(result)")
        #expect(result.stderr.contains("still holds the passwords in plaintext"), "\(result)")
        result = try sandbox.run(["git-credential", "get"], env: env, stdin: "protocol=https\nhost=\(fileHost)\n")
        #expect(result.stdout.contains("username=fileuser\npassword=pw@file\n"), "\(result)")
        let list = try sandbox.run(["list"], env: env)
        #expect(list.stdout.contains("https://libuser@\(host)") && !list.stdout.contains("pw-lib-2"), "\(list)")
        result = try sandbox.run(["import", "git", "--remove"], env: env)
        #expect(result.status == 0, "\(result)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.home + "/.git-credentials"))
        // libsecret's item went; what is left for that server is Keyway's copy (which libsecret's helper reads).
        let left = try repeatedWhileFailing(until: { $0.stdout.contains("[/") }) {
            try other("/usr/bin/secret-tool", ["search", "--all", "server", "lib-\(tag).example"], stdin: "")
        }
        let items = left.stdout.split(separator: "\n").filter { $0.hasPrefix("[/") }
        #expect(
            items.count == 1 && (left.stdout + left.stderr).contains("attribute.service = git-credential"), "\(left)")
        #expect(
            try lookUp(libsecret, "protocol=https\nhost=\(host)\n", finding: "pw-lib-2").stdout.contains("pw-lib-2"))
        result = try sandbox.run(["git-credential", "get"], env: env, stdin: "protocol=https\nhost=\(host)\n")
        #expect(
            result.stdout.contains("password=pw-lib-2\n") && result.stderr.isEmpty, "Keyway's copy stays: \(result)")
        for (h, u) in [(host, "libuser"), (fileHost, "fileuser")] {
            try sandbox.run(["git-credential", "erase"], env: env, stdin: "protocol=https\nhost=\(h)\nusername=\(u)\n")
        }
    }

    @Test func dockerReadsSecretServiceItemsAndImportsThem() throws {
        let server = "https://dsec-\(tag).example"
        let secretservice = "/usr/bin/docker-credential-secretservice"
        var result = try otherRepeatingFailures(
            secretservice, stdin: #"{"ServerURL":"\#(server)","Username":"duser","Secret":"pw-docker-1"}"#)
        #expect(result.status == 0, "\(result)")
        result = try sandbox.run(["docker-credential", "get"], env: env, stdin: server)
        #expect(
            result.stdout == #"{"ServerURL":"\#(server)","Username":"duser","Secret":"pw-docker-1"}"# + "\n",
            "\(result)")
        result = try sandbox.run(["docker-credential", "list"], env: env)
        #expect(result.stdout.contains(#""\#(server)":"duser""#), "\(result)")
        // And the other way: what Keyway stored is not an io.docker.Credentials item, so docker-credential-secretservice
        // does not see it (the formats do not allow it: both use the `username` attribute, Keyway for the profile,
        // docker's helper for the registry user); Keyway's copy after import is its own.
        let configServer = "cfg-\(tag).example:5000"
        let auth = Data("cfguser:pw-cfg".utf8).base64EncodedString()
        try makeFile(sandbox.home + "/.docker/config.json", #"{"auths":{"\#(configServer)":{"auth":"\#(auth)"}}}"#)
        result = try sandbox.run(["import", "docker", "--remove"], env: env)
        #expect(result.status == 0 && result.stdout.contains("Imported 2 docker credentials"), "\(result)")
        let notFound = "credentials not found in native keychain\n"
        #expect(
            try repeatedWhileFailing(until: { $0.stdout == notFound }) {
                try other(secretservice, ["get"], stdin: server)
            }.stdout == notFound)
        let rewritten = try JSON.parse(
            try String(contentsOfFile: sandbox.home + "/.docker/config.json", encoding: .utf8))
        #expect(rewritten["credsStore"] == .string("keyway"), "\(rewritten)")
        #expect(rewritten["auths"]?[configServer] == .object([]), "\(rewritten)")
        result = try sandbox.run(["docker-credential", "get"], env: env, stdin: configServer)
        #expect(result.stdout.contains(#""Username":"cfguser","Secret":"pw-cfg""#), "\(result)")
        result = try sandbox.run(["docker-credential", "get"], env: env, stdin: server)
        #expect(result.stdout.contains("pw-docker-1"), "\(result)")
        for url in [server, configServer] {
            result = try sandbox.run(["docker-credential", "erase"], env: env, stdin: url)
            #expect(result.status == 0, "\(result)")
        }
    }
}
