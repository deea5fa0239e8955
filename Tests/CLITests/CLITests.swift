import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

let reflexKey = "rfx_9f8e7d6c5b4a39281706f5e4d3c2b1a0"

@Suite struct LoginGetLogoutTests {
    @Test func version() throws {
        let result = try Sandbox(backend: "plaintext").run(["--version"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout == "0.1.0\n")
    }

    @Test func roundTripThroughStandardInput() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let login = try sandbox.run(["login", "reflex"], stdin: reflexKey + "\n")
        #expect(login.status == 0, "\(login)")
        #expect(
            login.stdout
                == "Stored the API key for reflex (profile default) in the plaintext store: \(sandbox.credentialsFile)\n"
        )
        #expect(login.stderr == "")
        let get = try sandbox.run(["get", "reflex"])
        #expect(get.status == 0, "\(get)")
        #expect(get.stdout == reflexKey + "\n")
        #expect(get.stderr == "")
        let logout = try sandbox.run(["logout", "reflex"])
        #expect(logout.status == 0, "\(logout)")
        #expect(logout.stdout == "Removed the API key for reflex (profile default) from the plaintext store.\n")
        let after = try sandbox.run(["get", "reflex"])
        #expect(after.status == 1)
        #expect(after.stdout == "")
        #expect(after.stderr == "Error: API key is required. Run `keyway login reflex` or set REFLEX_API_KEY.\n")
    }

    @Test func onlyOneTrailingNewlineIsRemoved() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        #expect(try sandbox.run(["login", "a"], stdin: "key-with-crlf\r\n").status == 0)
        #expect(try sandbox.run(["get", "a"]).stdout == "key-with-crlf\n")
        #expect(try sandbox.run(["login", "b"], stdin: "no-newline").status == 0)
        #expect(try sandbox.run(["get", "b"]).stdout == "no-newline\n")
        let twoNewlines = try sandbox.run(["login", "c"], stdin: "two\n\n")
        #expect(twoNewlines.status == 2, "a second newline stays and is refused: \(twoNewlines)")
        #expect(twoNewlines.stderr.contains("control character"))
        #expect(try sandbox.run(["login", "d"], stdin: " spaced key ").status == 0)
        #expect(try sandbox.run(["get", "d"]).stdout == " spaced key \n", "spaces are kept as given")
    }

    @Test func apiKeyFlag() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        #expect(try sandbox.run(["login", "reflex", "--api-key", reflexKey], stdin: "ignored\n").status == 0)
        #expect(try sandbox.run(["get", "reflex"]).stdout == reflexKey + "\n")
    }

    @Test func emptyKeyIsRefusedAndNothingStored() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        for input in ["", "\n"] {
            let result = try sandbox.run(["login", "reflex"], stdin: input)
            #expect(result.status == 2, "\(result)")
            #expect(result.stderr == "Error: The API key is empty; nothing was stored.\n")
        }
        let flag = try sandbox.run(["login", "reflex", "--api-key", ""])
        #expect(flag.status == 2)
        #expect(FileManager.default.fileExists(atPath: sandbox.credentialsFile) == false)
    }

    @Test func profilesAreKeptApart() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        #expect(try sandbox.run(["login", "fluxloop", "--api-key", "flux_dev_aaaa1111"]).status == 0)
        #expect(
            try sandbox.run(["login", "fluxloop", "--profile", "production", "--api-key", "flux_prod_bbbb2222"]).status
                == 0)
        #expect(
            try sandbox.run(["login", "fluxloop", "--api-key", "flux_dev_cccc3333"], env: ["KEYWAY_PROFILE": "dev"])
                .status == 0)
        #expect(try sandbox.run(["get", "fluxloop"]).stdout == "flux_dev_aaaa1111\n")
        #expect(try sandbox.run(["get", "fluxloop", "--profile", "production"]).stdout == "flux_prod_bbbb2222\n")
        #expect(try sandbox.run(["get", "fluxloop"], env: ["KEYWAY_PROFILE": "dev"]).stdout == "flux_dev_cccc3333\n")
        #expect(
            try sandbox.run(["get", "fluxloop", "--profile", "production"], env: ["KEYWAY_PROFILE": "dev"]).stdout
                == "flux_prod_bbbb2222\n", "--profile wins over KEYWAY_PROFILE")
        let missing = try sandbox.run(["get", "fluxloop", "--profile", "staging"])
        #expect(missing.status == 1)
        #expect(
            missing.stderr
                == "Error: API key is required. Run `keyway login fluxloop --profile staging` or set FLUXLOOP_API_KEY.\n"
        )
        let logout = try sandbox.run(["logout", "fluxloop", "--profile", "production"])
        #expect(logout.status == 0)
        #expect(try sandbox.run(["get", "fluxloop"]).stdout == "flux_dev_aaaa1111\n", "other profiles untouched")
        let all = try sandbox.run(["logout", "fluxloop", "--all"])
        #expect(all.status == 0, "\(all)")
        #expect(all.stdout == "Removed 2 profiles of fluxloop: default, dev.\n")
        let again = try sandbox.run(["logout", "fluxloop", "--all"])
        #expect(again.status == 1)
        #expect(again.stderr == "No stored credential for fluxloop in the plaintext store.\n")
        let one = try sandbox.run(["logout", "fluxloop"])
        #expect(one.status == 1)
        #expect(one.stderr == "No stored credential for fluxloop (profile default) in the plaintext store.\n")
    }

    @Test func precedenceFlagThenEnvironmentThenStore() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        #expect(try sandbox.run(["login", "my-app", "--api-key", "stored-key-000"]).status == 0)
        #expect(try sandbox.run(["get", "my-app"]).stdout == "stored-key-000\n")
        let env = ["MY_APP_API_KEY": "env-key-111"]
        #expect(try sandbox.run(["get", "my-app"], env: env).stdout == "env-key-111\n")
        #expect(try sandbox.run(["get", "my-app", "--api-key", "flag-key-222"], env: env).stdout == "flag-key-222\n")
        #expect(
            try sandbox.run(["get", "my-app"], env: ["MY_APP_API_KEY": ""]).stdout == "stored-key-000\n",
            "an empty variable counts as unset")
        let envOnly = try sandbox.run(["get", "other-app"], env: ["OTHER_APP_API_KEY": "only-env"])
        #expect(envOnly.stdout == "only-env\n")
        #expect(envOnly.status == 0)
    }

    @Test func notFoundMessageFillsInAppAndVariable() throws {
        let result = try Sandbox(backend: "plaintext").run(["get", "my.tool"])
        #expect(result.status == 1)
        #expect(result.stdout == "")
        #expect(result.stderr == "Error: API key is required. Run `keyway login my.tool` or set MY_TOOL_API_KEY.\n")
    }

    @Test func usageErrors() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let badDate = try sandbox.run(["login", "a", "--api-key", "k", "--expires", "2026-02-30"])
        #expect(badDate.status == 64, "\(badDate)")
        #expect(badDate.stderr.contains("--expires must be a real date written YYYY-MM-DD (got '2026-02-30')."))
        let both = try sandbox.run(["logout", "a", "--all", "--profile", "x"])
        #expect(both.status == 64)
        let unknown = try sandbox.run(["get", "a", "--backend", "vault9"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.hasPrefix("Error: Unknown backend 'vault9'."))
        let noBus = try sandbox.run(["login", "a", "--api-key", "k"], env: ["KEYWAY_BACKEND": "keyring"])
        #expect(noBus.status == 2, "an explicit keyring backend without a session bus is an error, not a fallback")
        #expect(noBus.stderr.hasPrefix("Error: No D-Bus session bus"))
        #expect(!FileManager.default.fileExists(atPath: sandbox.credentialsFile))
    }

    @Test func locationOverrides() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let file = sandbox.root + "/elsewhere/creds.json"
        #expect(try sandbox.run(["login", "a", "--api-key", "k1"], env: ["KEYWAY_CREDENTIALS_FILE": file]).status == 0)
        #expect(FileManager.default.fileExists(atPath: file))
        #expect(!FileManager.default.fileExists(atPath: sandbox.credentialsFile))
        let xdg = sandbox.root + "/xdg"
        let viaXDG = try sandbox.run(
            ["login", "b", "--api-key", "k2"], env: ["XDG_CONFIG_HOME": xdg], removing: ["KEYWAY_CONFIG_DIR"])
        #expect(viaXDG.status == 0, "\(viaXDG)")
        #expect(FileManager.default.fileExists(atPath: xdg + "/keyway/credentials.json"))
        let viaHome = try sandbox.run(["login", "c", "--api-key", "k3"], removing: ["KEYWAY_CONFIG_DIR"])
        #expect(viaHome.status == 0)
        #expect(FileManager.default.fileExists(atPath: sandbox.home + "/.config/keyway/credentials.json"))
    }
}

@Suite struct PermissionTests {
    @Test(arguments: [0o000, 0o022, 0o077] as [mode_t])
    func fileAndDirectoryModesWhateverTheUmask(mask: mode_t) throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let result = try sandbox.run(["login", "reflex", "--api-key", reflexKey], umask: mask)
        #expect(result.status == 0, "\(result)")
        #expect(try permissions(sandbox.credentialsFile) == 0o600)
        #expect(try permissions(sandbox.configDirectory) == 0o700)
    }

    @Test func warningOnAGroupReadableFile() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        #expect(try sandbox.run(["login", "reflex", "--api-key", reflexKey]).status == 0)
        #expect(chmod(sandbox.credentialsFile, 0o644) == 0)
        let get = try sandbox.run(["get", "reflex"])
        #expect(get.status == 0)
        #expect(get.stdout == reflexKey + "\n", "stdout stays the key alone")
        let file = sandbox.credentialsFile
        #expect(
            get.stderr
                == "Warning: \(file) has permissions 0644, which let group or others access it. Fix with: chmod 600 \(file)\n"
        )
    }

    @Test func strictRefuses() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        #expect(try sandbox.run(["login", "reflex", "--api-key", reflexKey]).status == 0)
        #expect(chmod(sandbox.credentialsFile, 0o644) == 0)
        let file = sandbox.credentialsFile
        let expected =
            "Error: \(file) has permissions 0644, which let group or others access it; strict mode refuses it. Fix with: chmod 600 \(file)\n"
        let flag = try sandbox.run(["get", "reflex", "--strict"])
        #expect(flag.status == 2)
        #expect(flag.stdout == "")
        #expect(flag.stderr == expected)
        let env = try sandbox.run(["get", "reflex"], env: ["KEYWAY_STRICT": "1"])
        #expect(env.status == 2)
        #expect(env.stderr == expected)
        #expect(try sandbox.run(["get", "reflex"], env: ["KEYWAY_STRICT": "0"]).status == 0)
    }

    @Test func corruptFileIsLeftByteForByte() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        try FileManager.default.createDirectory(atPath: sandbox.configDirectory, withIntermediateDirectories: true)
        let corrupt =
            "{\"version\": 1, \"credentials\": [ {\"app\": \"old\", \"profile\": \"default\", \"api_key\": \"keep-me\"}, ]}\n"
        try writeFile(sandbox.credentialsFile, corrupt, mode: 0o600)
        let login = try sandbox.run(["login", "reflex", "--api-key", reflexKey])
        #expect(login.status == 2)
        #expect(
            login.stderr.hasPrefix(
                "Error: \(sandbox.credentialsFile) is not valid JSON: unexpected character ']' at line 1, column 93."),
            "\(login.stderr)")
        #expect(!login.stderr.contains("keep-me"))
        #expect(try readFile(sandbox.credentialsFile) == Array(corrupt.utf8))
        let logout = try sandbox.run(["logout", "old"])
        #expect(logout.status == 2)
        #expect(try readFile(sandbox.credentialsFile) == Array(corrupt.utf8))
        let get = try sandbox.run(["get", "old"])
        #expect(get.status == 2, "a broken store is an error, not 'not found'")
    }

    /// `api_key` twice in one entry: `get` (the one-entry fast path) and every write refuse the file, naming it and
    /// the field but neither value, and leave it as it was.
    @Test func duplicateFieldIsRefusedByteForByte() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        try FileManager.default.createDirectory(atPath: sandbox.configDirectory, withIntermediateDirectories: true)
        let doubled =
            "{\"version\": 1, \"credentials\": [{\"app\": \"old\", \"profile\": \"default\", "
            + "\"api_key\": \"rfx_firstvalue00000000000\", \"api_key\": \"rfx_secondvalue0000000000\"}]}\n"
        try writeFile(sandbox.credentialsFile, doubled, mode: 0o600)
        let message =
            "Error: \(sandbox.credentialsFile): credentials[0].api_key appears more than once. "
            + "The file was left untouched; fix or move it.\n"
        for arguments in [["get", "old"], ["login", "reflex", "--api-key", reflexKey], ["logout", "old"], ["list"]] {
            let result = try sandbox.run(arguments)
            #expect(result.status == 2, "\(arguments): \(result)")
            #expect(result.stderr.hasSuffix(message), "\(arguments): \(result)")
            #expect(!result.stdout.contains("value") && !result.stderr.contains("value"))
        }
        #expect(try readFile(sandbox.credentialsFile) == Array(doubled.utf8))
    }
}

@Suite struct ConcurrencyTests {
    /// 8 processes each store 25 distinct profiles into the same file at once; all 200 are there afterwards.
    @Test func eightProcessesTwentyFiveProfilesEach() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let script = """
            for i in $(seq 1 25); do
              "$KEYWAY" login shared --profile "w$WORKER-$i" --api-key "key-$WORKER-$i" >/dev/null || exit 1
            done
            """
        var processes: [Process] = []
        for worker in 1...8 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", script]
            process.environment = sandbox.environment.merging(["KEYWAY": keywayBinary, "WORKER": "\(worker)"]) { $1 }
            try process.run()
            processes.append(process)
        }
        for process in processes {
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
        }
        let list = try sandbox.run(["list", "--json"])
        let json = try JSON.parse(list.stdout)
        guard case .array(let credentials)? = json["credentials"] else {
            Issue.record("no credentials array: \(list)")
            return
        }
        #expect(credentials.count == 200)
        for worker in 1...8 {
            for i in [1, 13, 25] {
                #expect(
                    try sandbox.run(["get", "shared", "--profile", "w\(worker)-\(i)"]).stdout == "key-\(worker)-\(i)\n")
            }
        }
    }
}

/// `get` has a fast path that skips ArgumentParser; it must accept exactly what ArgumentParser accepts.
@Suite struct GetCommandLineTests {
    @Test func optionFormsAndOrder() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        #expect(try sandbox.run(["login", "a", "--profile", "p", "--api-key", "key-p-0000000"]).status == 0)
        for arguments in [
            ["get", "a", "--profile", "p"], ["get", "--profile", "p", "a"], ["get", "a", "--profile=p"],
            ["get", "a", "--profile=p", "--backend=plaintext"], ["get", "--strict", "a", "--profile", "p"],
        ] {
            let result = try sandbox.run(arguments)
            #expect(result.status == 0 && result.stdout == "key-p-0000000\n", "\(arguments): \(result)")
        }
        try makeFile(sandbox.root + "/k", "key-from-file-1\n")
        #expect(try sandbox.run(["get", "a", "-k", sandbox.root + "/k"]).stdout == "key-from-file-1\n")
        #expect(try sandbox.run(["get", "a", "--key-file=" + sandbox.root + "/k"]).stdout == "key-from-file-1\n")
        #expect(try sandbox.run(["get", "a", "--api-key=flag-key"]).stdout == "flag-key\n")
    }

    @Test func everythingElseGoesToArgumentParser() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let help = try sandbox.run(["get", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("USAGE: keyway get <app>"))
        let unknown = try sandbox.run(["get", "a", "--frobnicate"])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("Unknown option '--frobnicate'"))
        let missing = try sandbox.run(["get"])
        #expect(missing.status == 64)
        let noValue = try sandbox.run(["get", "a", "--profile"])
        #expect(noValue.status == 64)
        let two = try sandbox.run(["get", "a", "b"])
        #expect(two.status == 64)
        #expect(try sandbox.run(["get", "a", "--api-key", "x", "--key-file", "y"]).status == 64)
        let repeated = try sandbox.run(["get", "a", "--api-key", "x", "--api-key", "y"])
        #expect(repeated.status == 0 && repeated.stdout == "y\n", "ArgumentParser keeps the last value: \(repeated)")
    }
}
