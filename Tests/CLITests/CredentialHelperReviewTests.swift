import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

/// The findings of the review of the credential helpers (issue 15), each through the real CLI on a plaintext store.
@Suite struct CredentialHelperReviewTests {
    let sandbox: Sandbox
    let env = ["KEYWAY_BACKEND": "plaintext"]

    init() throws { sandbox = try Sandbox(backend: "plaintext") }

    func docker(_ action: String, _ stdin: String) throws -> RunResult {
        try sandbox.run(["docker-credential", action], env: env, stdin: stdin)
    }

    func git(_ action: String, _ stdin: String) throws -> RunResult {
        try sandbox.run(["git-credential", action], env: env, stdin: stdin)
    }

    /// A docker secret with line feeds (GCR's `_json_key` login: the password is a JSON key file) comes back whole.
    @Test func dockerSecretWithLineFeedsRoundTrips() throws {
        let secrets = [
            "a\nb", "{\n  \"type\": \"service_account\",\n  \"private_key\": \"-----BEGIN\\nX\\n\"\n}\n", "a\nk=v\n",
        ]
        for (index, secret) in secrets.enumerated() {
            let url = "https://gcr-\(index).example"
            let payload = JSON.object([
                ("ServerURL", .string(url)), ("Username", .string("_json_key")), ("Secret", .string(secret)),
            ]).serialized(pretty: false)
            var result = try docker("store", payload)
            #expect(result.status == 0, "\(result)")
            result = try docker("get", url)
            #expect(result.status == 0 && result.stdout == payload + "\n", "\(result)")
            result = try sandbox.run(["docker-credential", "list"], env: env)
            #expect(result.stdout.contains("\"\(url)\":\"_json_key\""), "\(result)")
        }
    }

    /// A line of ~/.git-credentials whose entry Keyway holds with another password is not copied: the file stays.
    @Test func gitImportRemoveKeepsALineNotCopied() throws {
        var result = try git("store", "protocol=https\nhost=github.example\nusername=alice\npassword=pw-X\n")
        #expect(result.status == 0, "\(result)")
        let file = sandbox.home + "/.git-credentials"
        try makeFile(file, "https://alice:pw-Y@github.example\n")
        result = try sandbox.run(["import", "git", "--remove"], env: env)
        #expect(result.status == 0, "\(result)")
        #expect(result.stderr.contains("\(file) was kept"), "\(result)")
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "https://alice:pw-Y@github.example\n")
        result = try git("get", "protocol=https\nhost=github.example\n")
        #expect(result.stdout.contains("password=pw-X\n"), "\(result)")
    }

    /// ~/.git-credentials as a symbolic link (into a dotfiles repository) is imported but never "removed".
    @Test func gitImportRemoveRefusesASymbolicLink() throws {
        let target = sandbox.root + "/dotfiles/git-credentials"
        try makeFile(target, "https://bob:pw-link@link.example\n")
        let file = sandbox.home + "/.git-credentials"
        try FileManager.default.createSymbolicLink(atPath: file, withDestinationPath: target)
        var result = try sandbox.run(["import", "git", "--remove"], env: env)
        #expect(result.status == 2, "\(result)")
        #expect(result.stdout.contains("Imported 1 git credential"), "\(result)")
        #expect(result.stderr.contains("it is a symbolic link to \(target)"), "\(result)")
        #expect(!result.stderr.contains("Removed"), "\(result)")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: file)) == target)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "https://bob:pw-link@link.example\n")
        result = try git("get", "protocol=https\nhost=link.example\n")
        #expect(result.stdout.contains("password=pw-link\n"), "\(result)")
    }

    /// An Azure-style `identitytoken` is imported as docker stores it (`<token>`), and removed with the `auth`.
    @Test func dockerImportTakesTheIdentityToken() throws {
        let config = sandbox.home + "/.docker/config.json"
        let auth = Data("00000000-0000-0000-0000-000000000000:".utf8).base64EncodedString()
        try makeFile(
            config,
            #"{"auths":{"r.azurecr.io":{"auth":"\#(auth)","identitytoken":"eyJ-identity-1"},"other.example":{}}}"#)
        var result = try sandbox.run(["import", "docker", "--remove"], env: env)
        #expect(result.status == 0 && result.stdout.contains("Imported 1 docker credential"), "\(result)")
        result = try docker("get", "r.azurecr.io")
        #expect(
            result.stdout == #"{"ServerURL":"r.azurecr.io","Username":"<token>","Secret":"eyJ-identity-1"}"# + "\n",
            "\(result)")
        let rewritten = try JSON.parse(try String(contentsOfFile: config, encoding: .utf8))
        #expect(rewritten["auths"]?["r.azurecr.io"] == .object([]), "\(rewritten)")
        #expect(rewritten["credsStore"] == .string("keyway"), "\(rewritten)")
    }

    /// erase with authtype compares the credential git sends; without a password or credential, only the user's.
    @Test func gitEraseComparesTheAuthtypeCredential() throws {
        let base = "capability[]=authtype\nprotocol=https\nhost=auth.example\nusername=carol\nauthtype=Bearer\n"
        var result = try git("store", base + "credential=tok-1\n")
        #expect(result.status == 0, "\(result)")
        result = try git("erase", base + "credential=tok-other\n")
        #expect(result.status == 0, "\(result)")
        result = try git("get", "capability[]=authtype\nprotocol=https\nhost=auth.example\n")
        #expect(result.stdout.contains("credential=tok-1\n"), "a stale credential erases nothing: \(result)")
        result = try git("erase", base + "credential=tok-1\n")
        result = try git("get", "capability[]=authtype\nprotocol=https\nhost=auth.example\n")
        #expect(result.status == 0 && result.stdout.isEmpty, "\(result)")
    }

    /// erase with only a host, or only a protocol, removes nothing.
    @Test func gitEraseNeedsProtocolAndHost() throws {
        for user in ["u1", "u2"] {
            let result = try git("store", "protocol=https\nhost=both.example\nusername=\(user)\npassword=pw-\(user)\n")
            #expect(result.status == 0, "\(result)")
        }
        for request in ["host=both.example\n\n", "protocol=https\n\n"] {
            let result = try git("erase", request)
            #expect(result.status == 0, "\(result)")
        }
        let list = try sandbox.run(["list"], env: env)
        #expect(list.stdout.contains("https://u1@both.example") && list.stdout.contains("https://u2@both.example"))
        // Protocol and host: every account of the host (git sent no username or password).
        try git("erase", "protocol=https\nhost=both.example\n")
        #expect(!(try sandbox.run(["list"], env: env)).stdout.contains("both.example"))
    }

    /// A malformed docker payload's error shows where, never a character of it (it may be the secret).
    @Test func dockerJSONErrorShowsNoCharacterOfTheInput() throws {
        let result = try docker("store", #"{"ServerURL":"r","Username":"u","Secret":hunter2}"#)
        #expect(result.status == 1, "\(result)")
        #expect(result.stdout == "The credentials are not valid JSON (at line 1, column 42).\n", "\(result)")
        #expect(!result.stdout.contains("'h'") && !(result.stdout + result.stderr).contains("hunter"), "\(result)")
    }
}

/// A program storing an item with GNOME's network-password schema, as GVfs (Nautilus's "remember forever") does:
/// `gvfs-item store|lookup user domain server protocol [password]`.
enum NetworkPasswordTool {
    static let source = #"""
        #include <libsecret/secret.h>
        #include <stdio.h>
        #include <string.h>
        int main(int argc, char **argv) {
            GError *error = NULL;
            if (argc == 7 && strcmp(argv[1], "store") == 0) {
                secret_password_store_sync(SECRET_SCHEMA_COMPAT_NETWORK, NULL, "gvfs", argv[6], NULL, &error,
                    "user", argv[2], "domain", argv[3], "server", argv[4], "protocol", argv[5], NULL);
            } else if (argc == 6 && strcmp(argv[1], "lookup") == 0) {
                gchar *pw = secret_password_lookup_sync(SECRET_SCHEMA_COMPAT_NETWORK, NULL, &error,
                    "user", argv[2], "domain", argv[3], "server", argv[4], "protocol", argv[5], NULL);
                if (pw) printf("%s\n", pw);
            } else return 2;
            if (error) { fprintf(stderr, "%s\n", error->message); return 1; }
            return 0;
        }
        """#

    static let binary: Result<String, GitFailure> = {
        let directory = NSTemporaryDirectory() + "keyway-gvfs-item-\(getpid())"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data(source.utf8).write(to: URL(fileURLWithPath: directory + "/gvfs-item.c"))
        } catch {
            return .failure(GitFailure(description: "\(error)"))
        }
        return buildLibsecretProgram(directory + "/gvfs-item.c", output: directory + "/gvfs-item")
    }()
}

/// The review's findings that need the keyring: another program's items (in the interop suite, on its keyring).
extension CredentialHelperInteropTests {
    /// GVfs's smb password (same schema as old git-credential-libsecret, with a `domain`) is not git's: not
    /// imported, not deleted.
    @Test func gitImportLeavesGVfsPasswords() throws {
        let tool = try NetworkPasswordTool.binary.get()
        let server = "nas-\(tag)"
        var result = try otherRepeatingFailures(
            tool, ["store", "bob", "WORKGROUP", server, "smb", "pw-smb-1"], stdin: "")
        #expect(result.status == 0, "\(result)")
        result = try otherRepeatingFailures(
            tool, ["store", "bob", "", server + "-sftp", "sftp", "pw-sftp-1"], stdin: "")
        #expect(result.status == 0, "\(result)")
        result = try sandbox.run(["import", "git", "--remove"], env: env)
        #expect(result.status == 0, "\(result)")
        let smb = try otherRepeatingFailures(tool, ["lookup", "bob", "WORKGROUP", server, "smb"], stdin: "")
        #expect(smb.stdout == "pw-smb-1\n", "\(smb)")
        let sftp = try otherRepeatingFailures(tool, ["lookup", "bob", "", server + "-sftp", "sftp"], stdin: "")
        #expect(sftp.stdout == "pw-sftp-1\n", "\(sftp)")
        let list = try sandbox.run(["list"], env: env)
        #expect(!list.stdout.contains(server), "\(list)")
    }

    /// docker-credential-secretservice's item copied and deleted: credsStore no longer names it, though the config's
    /// auths held no `auth` (and when there is no config at all).
    @Test func dockerImportRemoveSetsCredsStore() throws {
        let secretservice = "/usr/bin/docker-credential-secretservice"
        for withConfig in [true, false] {
            let server = "https://index-\(tag)-\(withConfig).example/v1/"
            let config = sandbox.home + "/.docker/config.json"
            if withConfig {
                try makeFile(config, #"{"credsStore":"secretservice","auths":{"\#(server)":{}}}"#)
            } else {
                try? FileManager.default.removeItem(atPath: config)
            }
            var result = try otherRepeatingFailures(
                secretservice, stdin: #"{"ServerURL":"\#(server)","Username":"duser","Secret":"pw-d"}"#)
            #expect(result.status == 0, "\(result)")
            result = try sandbox.run(["import", "docker", "--remove"], env: env)
            #expect(result.status == 0, "\(result)")
            #expect(
                try repeatedWhileFailing(until: { $0.stdout.contains("credentials not found") }) {
                    try other(secretservice, ["get"], stdin: server)
                }.stdout.contains("credentials not found"))
            let rewritten = try JSON.parse(try String(contentsOfFile: config, encoding: .utf8))
            #expect(rewritten["credsStore"] == .string("keyway"), "withConfig \(withConfig): \(rewritten)")
            result = try sandbox.run(["docker-credential", "get"], env: env, stdin: server)
            #expect(result.stdout.contains(#""Secret":"pw-d""#), "\(result)")
            try sandbox.run(["docker-credential", "erase"], env: env, stdin: server)
        }
    }
}
