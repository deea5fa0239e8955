import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

// Regression tests for the second review of issue 10's fixes: D8, D9, D10, D11, D13 (errors), D14, D15, G1.

private let cheapCost = ["--argon2-ops", "1", "--argon2-mem-mib", "8"]

private func directoryFindings(_ result: RunResult) throws -> [String] {
    guard case .array(let items)? = try JSON.parse(result.stdout)["findings"] else { return [] }
    return items.filter { $0["rule"]?.stringValue == "directory-permissions" }.compactMap { $0["path"]?.stringValue }
}

@Suite struct SymbolicLinkChainTests {
    /// D8 (a): the directory holding the link `~/.config/keyway` is writable by others, though the link leads to a
    /// private directory.
    @Test func theDirectoryHoldingALinkIsChecked() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let safe = sandbox.home + "/safe"
        try Sys.mkdir(safe, 0o700)
        try Sys.mkdir(sandbox.home + "/.config", 0o700)
        #expect(chmod(sandbox.home + "/.config", 0o777) == 0)
        try FileManager.default.createSymbolicLink(atPath: sandbox.home + "/.config/keyway", withDestinationPath: safe)
        let env = ["KEYWAY_CONFIG_DIR": sandbox.home + "/.config/keyway"]
        let login = try sandbox.run(["login", "reflex", "--api-key", "rfx_KEYaaaa1111bbbb2222"], env: env)
        #expect(login.status == 0, "\(login)")
        #expect(
            login.stderr.contains(
                "Warning: The directory \(sandbox.home)/.config (it holds the symbolic link \(sandbox.home)/.config/keyway) "
                    + "has permissions 0777"), "\(login)")
        let strict = try sandbox.run(["get", "reflex", "--strict"], env: env)
        #expect(strict.status == 2 && strict.stdout == "", "\(strict)")
        #expect(strict.stderr.contains("Strict mode refuses it"), "\(strict)")
        let audit = try sandbox.run(
            ["leak-check", "--format", "json"], env: env.merging(GitFixture.plainEnvironment) { $1 })
        #expect(try directoryFindings(audit).contains(sandbox.home + "/.config"), "\(audit)")
    }

    /// D8 (b): credentials.json is a link to a file in a directory anyone can write.
    @Test func theDirectoryALinkedCredentialsFileLeadsToIsChecked() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        #expect(try sandbox.run(["login", "reflex", "--api-key", "rfx_KEYaaaa1111bbbb2222"]).status == 0)
        let open = sandbox.root + "/open"
        try Sys.mkdir(open, 0o700)
        #expect(chmod(open, 0o777) == 0)
        #expect(rename(sandbox.credentialsFile, open + "/c.json") == 0)
        try FileManager.default.createSymbolicLink(
            atPath: sandbox.credentialsFile, withDestinationPath: open + "/c.json")
        let strict = try sandbox.run(["get", "reflex", "--strict"])
        #expect(strict.status == 2 && strict.stdout == "", "\(strict)")
        #expect(
            strict.stderr.contains(
                "The directory \(open) (where \(sandbox.credentialsFile) leads) has permissions 0777"), "\(strict)")
        let login = try sandbox.run(["login", "reflex", "--api-key", "rfx_NEWaaaa1111bbbb2222", "--strict"])
        #expect(login.status == 2, "\(login)")
        #expect(try readFile(open + "/c.json.lock") == nil, "nothing created there under --strict")
        let get = try sandbox.run(["get", "reflex"])
        #expect(get.status == 0 && get.stdout == "rfx_KEYaaaa1111bbbb2222\n", "\(get)")
        #expect(get.stderr.contains("Warning: The directory \(open) (where"), "\(get)")
        let audit = try sandbox.run(["leak-check", "--format", "json"], env: GitFixture.plainEnvironment)
        #expect(try directoryFindings(audit).contains(open), "\(audit)")
    }

    /// D8 (c): the vault key file, created by `vault init --key-file` and named by KEYWAY_VAULT_KEY_FILE.
    @Test func theVaultKeyFilesDirectoryIsChecked() throws {
        let sandbox = try Sandbox()
        let open = sandbox.root + "/x/open"
        try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: true)
        #expect(chmod(open, 0o777) == 0)
        let key = open + "/vault.key"
        let created = try sandbox.run(["vault", "init", "--key-file", key])
        #expect(created.status == 0, "\(created)")
        #expect(created.stderr.contains("Warning: The directory \(open) has permissions 0777"), "\(created)")
        let strictInit = try sandbox.run(
            ["vault", "init", "--key-file", open + "/other.key", "--strict"],
            env: ["KEYWAY_VAULT_FILE": sandbox.root + "/other.vault"])
        #expect(strictInit.status == 2 && strictInit.stderr.contains("Strict mode refuses it"), "\(strictInit)")
        #expect(try readFile(open + "/other.key") == nil)
        let env = ["KEYWAY_BACKEND": "encrypted", "KEYWAY_VAULT_KEY_FILE": key]
        let strict = try sandbox.run(["get", "reflex", "--strict"], env: env)
        #expect(strict.status == 2, "\(strict)")
        #expect(strict.stderr.contains("The directory \(open) has permissions 0777"), "\(strict)")
        let audit = try sandbox.run(
            ["leak-check", "--format", "json"], env: env.merging(GitFixture.plainEnvironment) { $1 })
        #expect(try directoryFindings(audit).contains(open), "\(audit)")
    }
}

@Suite struct RunDuplicateEnvironmentTests {
    /// D9: CMD gets exactly one entry for the key's variable and none of Keyway's unlock variables, however many
    /// duplicates keyway was given (a C program passes duplicate envp entries: `env` and Foundation would merge them).
    @Test func duplicateEntriesNeverReachTheCommand() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        #expect(try sandbox.run(["login", "reflex", "--api-key", "rfx_STOREDkey1111aaaa2222"]).status == 0)
        let source = sandbox.root + "/dupenv.c"
        try writeFile(
            source,
            """
            #include <unistd.h>
            #include <stdio.h>
            /* dupenv PROGRAM ARGS...: runs PROGRAM with the environment read from standard input, one entry a line,
               duplicates kept. */
            int main(int argc, char **argv) {
                static char buffer[65536]; static char *envp[256]; int n = 0; size_t used = 0;
                (void)argc;
                while (n < 255 && fgets(buffer + used, sizeof buffer - used, stdin)) {
                    char *line = buffer + used; size_t length = 0;
                    while (line[length] && line[length] != '\\n') length++;
                    line[length] = 0; envp[n++] = line; used += length + 1;
                }
                envp[n] = 0;
                execve(argv[1], argv + 1, envp);
                perror("execve");
                return 127;
            }

            """, mode: 0o600)
        let program = sandbox.root + "/dupenv"
        let cc = try runProcess("/usr/bin/cc", ["-o", program, source], environment: ["PATH": "/usr/bin:/bin"])
        try #require(cc.status == 0, "\(cc)")
        let entries = [
            "HOME=\(sandbox.home)", "KEYWAY_CONFIG_DIR=\(sandbox.configDirectory)", "KEYWAY_BACKEND=plaintext",
            "PATH=/usr/bin:/bin", "REFLEX_API_KEY=", "REFLEX_API_KEY=rfx_INHERITEDsecond9999", "KEYWAY_PASSPHRASE=one",
            "KEYWAY_PASSPHRASE=two", "KEYWAY_VAULT_KEY=a", "KEYWAY_VAULT_KEY=b", "OTHER=kept",
        ]
        let result = try runProcess(
            program, [keywayBinary, "run", "reflex", "--no-mask", "--", "/usr/bin/env"], environment: [:],
            stdin: entries.joined(separator: "\n") + "\n")
        #expect(result.status == 0, "\(result)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(
            lines.filter { $0.hasPrefix("REFLEX_API_KEY=") } == ["REFLEX_API_KEY=rfx_STOREDkey1111aaaa2222"],
            "\(result)")
        #expect(
            !lines.contains { $0.hasPrefix("KEYWAY_PASSPHRASE=") || $0.hasPrefix("KEYWAY_VAULT_KEY=") }, "\(result)")
        #expect(lines.contains("OTHER=kept"))
    }
}

@Suite struct JSONFailureTests {
    /// D10: a usage error (64) under --json still prints an object with an `error` field.
    @Test func usageErrorsPrintAJSONError() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        for arguments in [
            ["list", "--json", "--bogus"], ["resolve", "--json"],
            ["resolve", "reflex", "--json", "--api-key", "x", "--key-file", "y"],
        ] {
            let result = try sandbox.run(arguments)
            #expect(result.status == 64, "\(arguments): \(result)")
            let error = try JSON.parse(result.stdout)["error"]
            #expect(error?["code"]?.stringValue == "usage", "\(arguments): \(result)")
            #expect(error?["message"]?.stringValue?.isEmpty == false)
            #expect(result.stderr.hasPrefix("Error: "), "the message is still on stderr")
        }
        let text = try sandbox.run(["list", "--bogus"])
        #expect(text.status == 64 && text.stdout == "", "no JSON without --json: \(text)")
    }

    /// D10: leak-check --format json with a missing or malformed baseline.
    @Test func leakCheckBaselineFailuresPrintAJSONError() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let malformed = sandbox.root + "/baseline.json"
        try writeFile(malformed, "{", mode: 0o600)
        for (baseline, code) in [(sandbox.root + "/missing.json", "io"), (malformed, "malformed-file")] {
            let result = try sandbox.run(
                ["leak-check", "--no-home", "--format", "json", "--baseline", baseline, sandbox.home],
                env: GitFixture.plainEnvironment)
            #expect(result.status == 2, "\(result)")
            #expect(try JSON.parse(result.stdout)["error"]?["code"]?.stringValue == code, "\(result)")
        }
    }
}

@Suite struct BoundedReadTests {
    /// Runs keyway under a 1 GB address-space limit: reading a 3 GB file whole would fail to allocate.
    private func bounded(_ sandbox: Sandbox, _ arguments: [String], env: [String: String] = [:]) throws -> RunResult {
        let environment = sandbox.environment.merging(env) { $1 }
        return try runProcess(
            "/bin/sh", ["-c", "ulimit -v 1000000; exec \"$@\"", "sh", keywayBinary] + arguments,
            environment: environment)
    }

    private func sparse(_ path: String, mode: mode_t = 0o600) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)
        try #require(fd >= 0)
        defer { close(fd) }
        try #require(ftruncate(fd, 3 << 30) == 0)
    }

    /// D11: a 3 GB vault, -k key file and tool file are refused from their size, at once.
    @Test func hugeFilesAreRefusedFromTheirSize() throws {
        let sandbox = try Sandbox()
        let vault = sandbox.root + "/big.vault"
        try sparse(vault)
        let start = Date()
        let env = ["KEYWAY_BACKEND": "encrypted", "KEYWAY_VAULT_FILE": vault, "KEYWAY_PASSPHRASE": "p"]
        let get = try bounded(sandbox, ["get", "reflex"], env: env)
        #expect(get.status == 2, "\(get)")
        #expect(
            get.stderr.contains("\(vault) is 3221225472 bytes, which is more than 64 MiB, the most Keyway reads"),
            "\(get)")
        let keyFile = sandbox.root + "/big.key"
        try sparse(keyFile)
        let k = try bounded(sandbox, ["get", "reflow", "-k", keyFile], env: ["KEYWAY_BACKEND": "plaintext"])
        #expect(k.status == 2 && k.stderr.contains("which is more than 65 KiB"), "\(k)")
        let tool = sandbox.home + "/.config/reflex/credentials.json"
        try sparse(tool)
        let own = try bounded(sandbox, ["get", "reflex"], env: ["KEYWAY_BACKEND": "plaintext"])
        #expect(
            own.status == 2 && own.stderr.contains("\(tool) is 3221225472 bytes, which is more than 16 MiB"),
            "\(own)")
        #expect(Date().timeIntervalSince(start) < 10, "refused from fstat, nothing read")
    }
}

@Suite struct NotARegularFileTests {
    /// D14: a FIFO or a directory as the vault: refused before `<file>.lock` is created next to it.
    @Test func vaultInitRefusesBeforeCreatingTheLock() throws {
        let sandbox = try Sandbox()
        let fifo = sandbox.root + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let directory = sandbox.root + "/dir"
        try Sys.mkdir(directory, 0o700)
        for target in [fifo, directory] {
            let result = try sandbox.run(
                ["vault", "init"] + cheapCost, env: ["KEYWAY_VAULT_FILE": target, "KEYWAY_PASSPHRASE": "p"])
            #expect(result.status == 2, "\(result)")
            #expect(result.stderr.contains("\(target) is not a regular file; Keyway refuses it."), "\(result)")
            #expect(!FileManager.default.fileExists(atPath: target + ".lock"), "\(target).lock")
        }
    }
}

@Suite struct ReviewD15Tests {
    @Test func costOptionsWithAKeyFileAreAUsageError() throws {
        let sandbox = try Sandbox()
        let key = sandbox.root + "/new.key"
        let rekey = try sandbox.run(["vault", "rekey", "--new-key-file", key, "--argon2-ops", "1"])
        #expect(rekey.status == 64, "\(rekey)")
        #expect(rekey.stderr.contains("--argon2-ops and --argon2-mem-mib"), "\(rekey)")
        let initialize = try sandbox.run(["vault", "init", "--key-file", key, "--argon2-mem-mib", "8"])
        #expect(initialize.status == 64, "\(initialize)")
        #expect(!FileManager.default.fileExists(atPath: key))
    }

    @Test func anInvalidKeyringTimeoutIsAnError() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        for value in ["abc", "0", "-1", "inf", "nan", "3601"] {
            let result = try sandbox.run(["list"], env: ["KEYWAY_KEYRING_TIMEOUT": value])
            #expect(result.status == 2, "\(value): \(result)")
            #expect(
                result.stderr.contains(
                    "KEYWAY_KEYRING_TIMEOUT must be a number of seconds greater than 0 and at most 3600"), "\(value)")
        }
        #expect(try sandbox.run(["list"], env: ["KEYWAY_KEYRING_TIMEOUT": "0.5"]).status == 0)
    }

    private func vault(_ sandbox: Sandbox) throws -> (path: String, env: [String: String]) {
        let path = sandbox.root + "/v.vault"
        let env = ["KEYWAY_VAULT_FILE": path, "KEYWAY_PASSPHRASE": "p"]
        let created = try sandbox.run(["vault", "init"] + cheapCost, env: env)
        try #require(created.status == 0, "\(created)")
        return (path, env)
    }

    @Test func versionZeroIsCorruptionNotANewerKeyway() throws {
        let sandbox = try Sandbox()
        let (path, env) = try vault(sandbox)
        var bytes = try #require(try readFile(path))
        bytes[8] = 0
        bytes[9] = 0
        try writeFile(path, bytes, mode: 0o600)
        let get = try sandbox.run(["get", "reflex", "--backend", "encrypted"], env: env)
        #expect(get.status == 2, "\(get)")
        #expect(get.stderr.contains("is corrupted or was modified (vault format version 0 does not exist"), "\(get)")
        #expect(!get.stderr.contains("newer Keyway"), "\(get)")
    }

    @Test func migrateIntoACorruptedVaultFails() throws {
        let sandbox = try Sandbox()
        let (path, env) = try vault(sandbox)
        var bytes = try #require(try readFile(path))
        bytes[bytes.count - 1] ^= 0x01  // the ciphertext's tag: the header still reads
        try writeFile(path, bytes, mode: 0o600)
        // Nothing to move: still the vault's error, not "Nothing to move" and success.
        let empty = try sandbox.run(["migrate", "--to", "encrypted"], env: env)
        #expect(empty.status == 2, "\(empty)")
        #expect(empty.stderr.contains("is corrupted or was modified"), "\(empty)")
        #expect(!empty.stdout.contains("Nothing to move"), "\(empty)")
        #expect(
            try sandbox.run(["login", "reflex", "--backend", "plaintext", "--api-key", "rfx_KEYaaaa1111bbbb2222"])
                .status == 0)
        let migrate = try sandbox.run(["migrate", "--to", "encrypted"], env: env)
        #expect(migrate.status == 2, "\(migrate)")
        #expect(migrate.stderr.contains("is corrupted or was modified"), "\(migrate)")
        #expect(try sandbox.run(["get", "reflex", "--backend", "plaintext"]).stdout == "rfx_KEYaaaa1111bbbb2222\n")
    }
}

@Suite struct ErrorEscapingTests {
    /// D13: an error naming a path with control characters prints them escaped, like a warning.
    @Test func errorsAreEscaped() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let path = sandbox.root + "/key\u{1b}[2J\nError: forged"
        let result = try sandbox.run(["get", "reflow", "--key-file", path])
        #expect(result.status == 2, "\(result)")
        #expect(!result.stderr.contains("\u{1b}"), "\(result)")
        #expect(result.stderr.contains("key\\x1b[2J\\x0aError: forged"), "\(result)")
        #expect(result.stderr.split(separator: "\n").count == 1, "one error, one line: \(result)")
    }
}

@Suite struct CrashHandlerTests {
    /// G1: the Swift runtime's crash handler (which runs swift-backtrace and prints memory around each register) is
    /// not installed in a running keyway: /proc/PID/status shows no caught crash signal.
    @Test func noCrashSignalIsCaught() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let (process, input) = try startWaitingOnInput(sandbox, keywayBinary, ["login", "app"])
        defer {
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
        }
        // login waits for the key on standard input; its signal handlers are all in place by then.
        var caught: UInt64?
        // Wait until keyway is blocked reading its standard input (read(2) on fd 0), well past start-up.
        try waitUntil("keyway \(process.processIdentifier) to block reading its standard input", timeout: 20) {
            guard
                let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
                let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigCgt:") }),
                let mask = UInt64(line.dropFirst("SigCgt:".count).trimmingCharacters(in: .whitespaces), radix: 16)
            else { return false }
            let syscall = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/syscall", encoding: .utf8)
            guard status.contains("Name:\tkeyway"), syscall?.hasPrefix("0 0x0 ") == true else { return false }
            caught = mask
            return true
        }
        let mask = try #require(caught)
        for signal in [SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV] {
            #expect(
                mask & (1 << UInt64(signal - 1)) == 0, "signal \(signal) is caught (SigCgt \(String(mask, radix: 16)))")
        }
    }
}
