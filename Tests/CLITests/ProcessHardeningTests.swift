import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

/// The 32-byte vault key these tests use, in base64.
private let vaultKey = Data((0..<32).map { UInt8($0 * 7 & 0xFF) }).base64EncodedString()

/// A vault file's 108-byte header (format version 1, see SECURITY.md) declaring `length` bytes of ciphertext, followed
/// by `body`. Nothing in it was produced by a key: it is what a hostile file may hold.
private func craftedVault(method: UInt8, declaredLength length: UInt64, body: Int = 40) -> [UInt8] {
    func littleEndian(_ value: UInt64, _ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }
    var bytes: [UInt8] = [0x89, 0x4B, 0x57, 0x56, 0x41, 0x55, 0x4C, 0x54] + littleEndian(1, 2) + [method, 1]
    if method == 2 {
        bytes += littleEndian(1, 8) + littleEndian(8 << 10, 8) + [UInt8](repeating: 0x5A, count: 16)
    } else {
        bytes += [UInt8](repeating: 0, count: 32)
    }
    bytes += [UInt8](repeating: 0xA5, count: 32)  // key check
    bytes += [UInt8](repeating: 0x3C, count: 24)  // nonce
    bytes += littleEndian(length, 8)
    return bytes + [UInt8](repeating: 0xEE, count: body)
}

/// Whether the result is an orderly exit (0, 1 or 2), not a signal (Foundation reports a signal's number as the status).
private func exitedCleanly(_ result: RunResult) -> Bool {
    [0, 1, 2].contains(result.status) && !result.stderr.contains("Fatal error")
}

/// Issue 10, item 5: a vault whose declared ciphertext length is near 2^64 made every command that reads its header
/// trap (SIGILL) on an arithmetic overflow in the truncation message.
@Suite struct CraftedVaultTests {
    @Test(arguments: [UInt64.max, UInt64.max - 107, UInt64.max - 108, 1 << 63])
    func hugeDeclaredLengthIsAnErrorForEveryCommand(length: UInt64) throws {
        let sandbox = try Sandbox()
        let vault = sandbox.configDirectory + "/credentials.vault"
        try FileManager.default.createDirectory(atPath: sandbox.configDirectory, withIntermediateDirectories: true)
        try writeFile(vault, craftedVault(method: 1, declaredLength: length), mode: 0o600)
        let key = ["KEYWAY_VAULT_KEY": vaultKey]
        let truncated = "is truncated"
        let runs: [(arguments: [String], env: [String: String], status: Int32?)] = [
            (["get", "reflex"], key, 2),
            (["get", "reflex", "--backend", "encrypted"], key, 2),
            (["list"], key, 2),
            (["list", "--backend", "encrypted"], key, 2),
            (["resolve", "reflex"], key, 2),
            (["resolve", "reflex", "--backend", "encrypted"], key, 2),
            (["whoami", "reflex", "--backend", "encrypted"], key, 2),
            (["backends"], key, 0),
            (["backends"], [:], 0),
            (["backends", "--json"], [:], 0),
            (["status"], key, nil),
            (["status"], [:], nil),
            (["status", "--backend", "encrypted"], key, nil),
            (["leak-check"], key, 2),
            (["leak-check"], [:], nil),
            (["migrate", "--to", "plaintext"], key, 2),
            (["migrate", "--to", "encrypted"], key, 2),
            (["login", "reflex", "--api-key", "rfx_abcdefghijklmnop0123", "--backend", "encrypted"], key, 2),
            (["logout", "reflex", "--backend", "encrypted"], key, 2),
            (["vault", "rekey", "--new-key-file", sandbox.root + "/new.key"], key, 2),
        ]
        for run in runs {
            let result = try sandbox.run(run.arguments, env: run.env, directory: sandbox.home)
            #expect(exitedCleanly(result), "\(run.arguments) \(run.env.keys.sorted()): \(result)")
            if let status = run.status { #expect(result.status == status, "\(run.arguments): \(result)") }
            if run.status == 2 {
                #expect((result.stdout + result.stderr).contains(truncated), "\(run.arguments): \(result)")
            }
            #expect(!result.stdout.contains(vaultKey) && !result.stderr.contains(vaultKey))
        }
        let backends = try sandbox.run(["backends"], env: key)
        #expect(backends.stdout.contains(truncated), "the vault's reason is given: \(backends)")
        #expect(try readFile(vault) == craftedVault(method: 1, declaredLength: length), "left untouched")
    }

    /// The passphrase header is checked before any key derivation: `status` with the passphrase variable set.
    @Test func passphraseVaultWithHugeLength() throws {
        let sandbox = try Sandbox()
        let vault = sandbox.root + "/p.vault"
        try writeFile(vault, craftedVault(method: 2, declaredLength: .max), mode: 0o600)
        let env = ["KEYWAY_VAULT_FILE": vault, "KEYWAY_PASSPHRASE": "some passphrase"]
        for arguments in [["status"], ["get", "reflex"], ["list"], ["backends"], ["leak-check"]] {
            let result = try sandbox.run(arguments, env: env, directory: sandbox.home)
            #expect(exitedCleanly(result), "\(arguments): \(result)")
            #expect(
                result.stdout.contains("is truncated") || result.stderr.contains("is truncated"),
                "\(arguments): \(result)")
        }
    }
}

/// Reads `/proc/PID/limits`' core line: (soft, hard) as printed ("0", "unlimited", a number of bytes).
private func coreLimits(of pid: pid_t) -> (soft: String, hard: String)? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8),
        let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Max core file size") })
    else { return nil }
    let fields = line.dropFirst("Max core file size".count).split(separator: " ")
    guard fields.count >= 2 else { return nil }
    return (String(fields[0]), String(fields[1]))
}

/// Issue 10, items 5 and 9: core dumps are off from the start of every keyway process (only the soft limit is
/// lowered), and `keyway run` gives CMD the limit keyway started with.
@Suite struct CoreDumpTests {
    /// The shell line that starts keyway with a known soft core limit (4096 blocks or bytes, whatever the shell
    /// counts in: only compared with itself).
    static let withSoftLimit = "ulimit -S -c 4096; exec \"$@\""

    @Test func keywayRunsWithSoftCoreLimitZeroFromTheStart() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        // `login` with a pipe on standard input that stays open: keyway blocks reading the key, having unlocked
        // nothing and read no store yet.
        let (process, input) = try startWaitingOnInput(
            sandbox, "/bin/sh", ["-c", Self.withSoftLimit, "sh", keywayBinary, "login", "reflex"])
        defer {
            withExtendedLifetime(input) {}
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        let shell = try runProcess("/bin/sh", ["-c", "ulimit -S -c 4096; cat /proc/self/limits"], environment: [:])
        let expectedHard = try #require(
            shell.stdout.split(separator: "\n").first { $0.hasPrefix("Max core file size") }.map {
                String($0.dropFirst("Max core file size".count).split(separator: " ")[1])
            })
        var seen: (soft: String, hard: String)?
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            // Once keyway (not the shell any more) runs: /proc/PID/exe names it.
            if let exe = try? FileManager.default.destinationOfSymbolicLink(
                atPath: "/proc/\(process.processIdentifier)/exe"),
                exe.hasSuffix("/keyway"), let limits = coreLimits(of: process.processIdentifier)
            {
                seen = limits
                if limits.soft == "0" { break }
            }
            usleep(20_000)
        }
        let limits = try #require(seen, "keyway's /proc/PID/limits was read")
        #expect(limits.soft == "0", "soft core limit while keyway waits for input: \(limits)")
        #expect(limits.hard == expectedHard, "the hard limit is left as it was: \(limits), expected \(expectedHard)")
        #expect(process.isRunning, "keyway is still waiting on standard input")
    }

    @Test func runRestoresTheSoftCoreLimitForTheCommand() throws {
        let sandbox = try Sandbox(backend: "encrypted")
        let env = ["KEYWAY_VAULT_KEY": vaultKey]
        let login = try sandbox.run(["login", "reflex"], env: env, stdin: "rfx_corelimit_0123456789\n")
        try #require(login.status == 0, "\(login)")
        let reference = try runProcess(
            "/bin/sh", ["-c", Self.withSoftLimit, "sh", "/bin/sh", "-c", "ulimit -c; ulimit -H -c"], environment: [:])
        try #require(reference.status == 0 && reference.stdout.hasPrefix("4096\n"), "\(reference)")
        let run = try runProcess(
            "/bin/sh",
            [
                "-c", Self.withSoftLimit, "sh", keywayBinary, "run", "reflex", "--no-mask", "--", "/bin/sh", "-c",
                "ulimit -c; ulimit -H -c; printf '%s\\n' \"$REFLEX_API_KEY\"",
            ],
            environment: sandbox.environment.merging(env) { $1 })
        #expect(run.status == 0, "\(run)")
        #expect(
            run.stdout == reference.stdout + "rfx_corelimit_0123456789\n", "CMD sees keyway's limits at start: \(run)")
    }
}

/// Issue 10, item 9: what `keyway run` hands to CMD besides the key.
@Suite struct RunEnvironmentTests {
    static let unlockVariables = [
        "KEYWAY_VAULT_KEY", "KEYWAY_VAULT_KEY_FILE", "KEYWAY_PASSPHRASE", "KEYWAY_NEW_PASSPHRASE",
    ]

    /// The names in `env` output.
    static func names(_ output: String) -> Set<String> {
        Set(output.split(separator: "\n").compactMap { $0.split(separator: "=", maxSplits: 1).first.map(String.init) })
    }

    @Test func unlockVariablesDoNotReachTheCommand() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        try #require(try sandbox.run(["login", "reflex", "--api-key", "rfx_runenv_0123456789"]).status == 0)
        let env = [
            "KEYWAY_VAULT_KEY": vaultKey, "KEYWAY_VAULT_KEY_FILE": sandbox.root + "/vault.key",
            "KEYWAY_PASSPHRASE": "the vault passphrase", "KEYWAY_NEW_PASSPHRASE": "the next passphrase",
            "KEYWAY_BACKEND": "plaintext", "OTHER_VARIABLE": "kept",
        ]
        let run = try sandbox.run(["run", "reflex", "--no-mask", "--", "/usr/bin/env"], env: env)
        #expect(run.status == 0, "\(run)")
        let names = Self.names(run.stdout)
        for name in Self.unlockVariables { #expect(!names.contains(name), "\(name) reached CMD") }
        #expect(!run.stdout.contains(vaultKey) && !run.stdout.contains("passphrase"), "\(run.stdout)")
        #expect(run.stdout.contains("REFLEX_API_KEY=rfx_runenv_0123456789\n"))
        #expect(run.stdout.contains("OTHER_VARIABLE=kept\n") && run.stdout.contains("KEYWAY_BACKEND=plaintext\n"))
    }

    /// The realistic case: the key comes out of the encrypted vault, unlocked with KEYWAY_VAULT_KEY.
    @Test func vaultKeyDoesNotReachTheCommand() throws {
        let sandbox = try Sandbox(backend: "encrypted")
        let env = ["KEYWAY_VAULT_KEY": vaultKey]
        try #require(try sandbox.run(["login", "reflex"], env: env, stdin: "rfx_runenv_vault_012345\n").status == 0)
        let run = try sandbox.run(["run", "reflex", "--no-mask", "--", "/usr/bin/env"], env: env)
        #expect(run.status == 0, "\(run)")
        #expect(!Self.names(run.stdout).contains("KEYWAY_VAULT_KEY") && !run.stdout.contains(vaultKey), "\(run.stdout)")
        #expect(run.stdout.contains("REFLEX_API_KEY=rfx_runenv_vault_012345\n"))
    }

    /// An explicit `--env` naming one of them still gets the app's key.
    @Test func explicitEnvNameIsSet() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        try #require(try sandbox.run(["login", "reflex", "--api-key", "rfx_runenv_explicit_0123"]).status == 0)
        let run = try sandbox.run(
            ["run", "reflex", "--no-mask", "--env", "KEYWAY_PASSPHRASE", "--", "/usr/bin/env"],
            env: ["KEYWAY_PASSPHRASE": "old"])
        #expect(run.stdout.contains("KEYWAY_PASSPHRASE=rfx_runenv_explicit_0123\n"), "\(run)")
    }
}

/// SIGPIPE's bit in `/proc/self/status`' SigIgn mask (bit signo - 1).
func sigpipeIgnored(_ status: String) throws -> Bool {
    let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("SigIgn:") }, "\(status)")
    let mask = try #require(UInt64(line.dropFirst("SigIgn:".count).trimmingCharacters(in: .whitespaces), radix: 16))
    return mask & (1 << (13 - 1)) != 0
}

/// Issue 10, item 9: the keyring backend (GLib) ignores SIGPIPE for the whole process; CMD must get the disposition
/// keyway started with.
@Suite(
    .enabled(
        if: KeyringCLI.enabled,
        "Keyring tests need a private Secret Service: run `scripts/with-keyring swift test` (they never use your own keyring)."
    ))
struct RunSignalTests {
    @Test func sigpipeIsDefaultInTheCommandOnTheKeyringBackend() throws {
        let keyring = try PrivateProvider("gnome-keyring")
        let sandbox = try Sandbox(backend: "keyring")
        let stored = try sandbox.run(
            ["login", "reflex", "--api-key", "rfx_sigpipe_0123456789"], env: keyring.environment)
        try #require(stored.status == 0, "\(stored)")
        let environment = sandbox.environment.merging(keyring.environment) { $1 }
        // Started with SIGPIPE at its default (whatever the test runner does with it). --no-mask: the exec path (stdout
        // is a pipe here, where masking is on by default), and the key printed to show it came from the keyring.
        let run = try runProcess(
            "/usr/bin/env",
            [
                "--default-signal=PIPE", keywayBinary, "run", "reflex", "--no-mask", "--", "/bin/sh", "-c",
                "cat /proc/self/status; printf 'key=%s\\n' \"$REFLEX_API_KEY\"",
            ],
            environment: environment)
        #expect(run.status == 0, "\(run)")
        #expect(run.stdout.contains("key=rfx_sigpipe_0123456789\n"), "the key came from the keyring: \(run)")
        #expect(try !sigpipeIgnored(run.stdout), "SIGPIPE is ignored in CMD")
        // The masked path (CMD spawned, its output read through pipes) gives CMD the same default.
        let masked = try runProcess(
            "/usr/bin/env",
            [
                "--default-signal=PIPE", keywayBinary, "run", "reflex", "--mask", "--", "/bin/sh", "-c",
                "cat /proc/self/status; printf 'key=%s\\n' \"$REFLEX_API_KEY\"",
            ],
            environment: environment)
        #expect(masked.status == 0 && masked.stdout.contains("key=<keyway:reflex>\n"), "\(masked)")
        #expect(try !sigpipeIgnored(masked.stdout), "SIGPIPE is ignored in CMD on the masked path")
        // A SIGPIPE that keyway was started with ignored stays ignored: CMD gets what keyway got.
        let ignoring = try runProcess(
            "/usr/bin/env",
            ["--ignore-signal=PIPE", keywayBinary, "run", "reflex", "--", "/bin/cat", "/proc/self/status"],
            environment: environment)
        #expect(ignoring.status == 0, "\(ignoring)")
        #expect(try sigpipeIgnored(ignoring.stdout), "an inherited ignore is kept")
    }
}

/// Issue 10, item 10: under `--backend auto`, a keyring that is there but does not answer is an error with the
/// keyring's own message (exit 2), never "not found".
@Suite struct AutoKeyringFailureTests {
    @Test func silentBusUnderAutoIsAnError() throws {
        let bus = try PrivateBus(policy: PrivateBus.silentPolicy)
        let sandbox = try Sandbox()
        let env = ["DBUS_SESSION_BUS_ADDRESS": bus.address, "KEYWAY_KEYRING_TIMEOUT": "1"]
        for arguments in [["resolve", "reflex"], ["get", "reflex"], ["list"]] {
            let result = try sandbox.run(arguments, env: env)
            #expect(result.status == 2, "\(arguments): \(result)")
            #expect(result.stderr.contains("it did not answer within 1 s"), "\(arguments): \(result)")
            #expect(
                !result.stdout.contains("store auto: missing") && !result.stdout.contains("No key found"),
                "\(arguments): \(result)")
        }
        let json = try sandbox.run(["resolve", "reflex", "--json"], env: env)
        #expect(json.status == 2, "\(json)")
        #expect(json.stdout.contains(#""code": "keyring-timeout""#), "\(json)")
        // A write must not go elsewhere either.
        let login = try sandbox.run(["login", "reflex", "--api-key", "rfx_silentbus_0123456789"], env: env)
        #expect(login.status == 2, "\(login)")
        #expect(
            !FileManager.default.fileExists(atPath: sandbox.credentialsFile), "nothing written to the plaintext file")
        let backends = try sandbox.run(["backends", "--json"], env: env)
        #expect(backends.stdout.contains(#""auto_writes_to": "keyring""#), "\(backends)")
    }

    /// No bus at all is still "this backend is not here": auto goes on to the others.
    @Test func noBusUnderAutoIsSkipped() throws {
        let sandbox = try Sandbox()
        let result = try sandbox.run(
            ["get", "reflex"], removing: ["DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"])
        #expect(result.status == 1, "\(result)")
    }
}

/// Issue 10, item 14: `vault rekey` keeps the vault's Argon2id cost unless told otherwise, and warns on a decrease.
@Suite struct RekeyCostTests {
    /// The (opslimit, memlimit) in a vault file's header.
    static func cost(_ path: String) throws -> (ops: UInt64, mem: UInt64) {
        let bytes = try #require(try readFile(path))
        try #require(bytes.count >= 108)
        func value(_ range: Range<Int>) -> UInt64 { range.reversed().reduce(0) { $0 << 8 | UInt64(bytes[$1]) } }
        return (value(12..<20), value(20..<28))
    }

    @Test func rekeyKeepsTheCostAndWarnsOnADecrease() throws {
        let sandbox = try Sandbox(backend: "encrypted")
        let vault = sandbox.configDirectory + "/credentials.vault"
        let created = try sandbox.run(
            ["vault", "init", "--argon2-ops", "5", "--argon2-mem-mib", "2"], env: ["KEYWAY_PASSPHRASE": "first"])
        try #require(created.status == 0, "\(created)")
        #expect(try Self.cost(vault) == (5, 2 << 20))
        try #require(
            try sandbox.run(
                ["login", "reflex", "--api-key", "rfx_rekeycost_0123456789"], env: ["KEYWAY_PASSPHRASE": "first"]
            )
            .status == 0)

        let kept = try sandbox.run(
            ["vault", "rekey"], env: ["KEYWAY_PASSPHRASE": "first", "KEYWAY_NEW_PASSPHRASE": "second"])
        #expect(kept.status == 0, "\(kept)")
        #expect(try Self.cost(vault) == (5, 2 << 20), "no option: the cost is kept")
        #expect(!kept.stderr.contains("lowers"), "\(kept)")
        #expect(kept.stdout.contains("opslimit 5, memlimit 2 MiB"), "\(kept)")

        let lowered = try sandbox.run(
            ["vault", "rekey", "--argon2-ops", "2"],
            env: ["KEYWAY_PASSPHRASE": "second", "KEYWAY_NEW_PASSPHRASE": "third"])
        #expect(lowered.status == 0, "\(lowered)")
        #expect(try Self.cost(vault) == (2, 2 << 20), "only the option given changes")
        #expect(
            lowered.stderr.contains(
                "lowers its Argon2id cost from opslimit 5, memlimit 2 MiB to opslimit 2, memlimit 2 MiB"),
            "\(lowered)")

        let raised = try sandbox.run(
            ["vault", "rekey", "--argon2-mem-mib", "3"],
            env: ["KEYWAY_PASSPHRASE": "third", "KEYWAY_NEW_PASSPHRASE": "fourth"])
        #expect(raised.status == 0, "\(raised)")
        #expect(try Self.cost(vault) == (2, 3 << 20))
        #expect(!raised.stderr.contains("lowers"), "a raise is not warned about as a decrease: \(raised)")

        let get = try sandbox.run(["get", "reflex"], env: ["KEYWAY_PASSPHRASE": "fourth"])
        #expect(get.stdout == "rfx_rekeycost_0123456789\n", "\(get)")
    }

    @Test func outOfRangeOptionIsRefusedBeforeAnything() throws {
        let sandbox = try Sandbox(backend: "encrypted")
        let vault = sandbox.configDirectory + "/credentials.vault"
        try #require(
            try sandbox.run(
                ["vault", "init", "--argon2-ops", "1", "--argon2-mem-mib", "1"], env: ["KEYWAY_PASSPHRASE": "a"]
            )
            .status == 0)
        let before = try readFile(vault)
        let refused = try sandbox.run(
            ["vault", "rekey", "--argon2-ops", "11"], env: ["KEYWAY_PASSPHRASE": "a", "KEYWAY_NEW_PASSPHRASE": "b"])
        #expect(refused.status == 64, "\(refused)")  // a usage error (issue 10, item 22)
        #expect(refused.stderr.contains("outside the accepted range"), "\(refused)")
        #expect(try readFile(vault) == before)
    }
}
