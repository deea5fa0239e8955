import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

// Each suite walks one vendor page in shared/seeds/ line by line, with a temporary HOME.

/// The elements of a JSON array (nil when `json` is not one), so a test looks at fields, not at a printed dump.
private func elements(_ json: JSON?) -> [JSON]? {
    guard case .array(let items)? = json else { return nil }
    return items
}

/// The `code` of each warning in a JSON `warnings` array (nil when there is no such array).
private func warningCodes(_ json: JSON?) -> [String]? {
    elements(json)?.map { $0["code"]?.stringValue ?? "(no code)" }
}

@Suite struct ReflexPageTests {
    let key = "rfx_4e1f9a7c2b8d3e6f0a5c9b2d7e4f1a8c"
    func credentialsFile(_ sandbox: Sandbox, _ path: String? = nil, key: String? = nil, account: String = "me@acme.io")
        throws
    {
        try makeFile(
            path ?? sandbox.home + "/.config/reflex/credentials.json",
            "{\"api_key\": \"\(key ?? self.key)\", \"platform_url\": \"https://app.example\", \"account\": \"\(account)\", \"organization\": \"Acme\"}\n"
        )
    }

    /// "Resolution order: 1. an explicit flag (--api-key) 2. REFLEX_API_KEY 3. the credentials file written by login"
    @Test func resolutionOrder() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        try credentialsFile(sandbox)
        #expect(try sandbox.run(["get", "reflex"]).stdout == key + "\n", "3. the credentials file")
        #expect(
            try sandbox.run(["get", "reflex"], env: ["REFLEX_API_KEY": "rfx_fromenv0000"]).stdout
                == "rfx_fromenv0000\n", "2. the variable beats the file")
        #expect(
            try sandbox.run(["get", "reflex", "--api-key", "rfx_flag1111"], env: ["REFLEX_API_KEY": "rfx_fromenv0000"])
                .stdout
                == "rfx_flag1111\n", "1. the flag beats everything")
        // Keyway's own store comes after the tool's file, so Keyway returns what Reflex itself would use.
        #expect(try sandbox.run(["login", "reflex", "--api-key", "rfx_stored2222"]).status == 0)
        #expect(try sandbox.run(["get", "reflex"]).stdout == key + "\n")
        try FileManager.default.removeItem(atPath: sandbox.home + "/.config/reflex/credentials.json")
        #expect(try sandbox.run(["get", "reflex"]).stdout == "rfx_stored2222\n")
    }

    /// "If none are set, commands fail with: Error: API key is required. Run `reflex login` or set REFLEX_API_KEY."
    @Test func notFound() throws {
        let result = try Sandbox(backend: "plaintext").run(["get", "reflex"])
        #expect(result.status == 1)
        #expect(result.stdout == "")
        #expect(result.stderr == "Error: API key is required. Run `keyway login reflex` or set REFLEX_API_KEY.\n")
    }

    /// "REFLEX_CONFIG_DIR: directory that holds credentials.json. REFLEX_CONFIG_FILE: full path; wins over _DIR."
    @Test func configOverrides() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        try credentialsFile(sandbox)
        let dir = sandbox.root + "/reflex-dir"
        try credentialsFile(sandbox, dir + "/credentials.json", key: "rfx_fromdir3333")
        let file = sandbox.root + "/elsewhere/creds.json"
        try credentialsFile(sandbox, file, key: "rfx_fromfile4444")
        #expect(try sandbox.run(["get", "reflex"], env: ["REFLEX_CONFIG_DIR": dir]).stdout == "rfx_fromdir3333\n")
        #expect(try sandbox.run(["get", "reflex"], env: ["REFLEX_CONFIG_FILE": file]).stdout == "rfx_fromfile4444\n")
        #expect(
            try sandbox.run(["get", "reflex"], env: ["REFLEX_CONFIG_DIR": dir, "REFLEX_CONFIG_FILE": file]).stdout
                == "rfx_fromfile4444\n", "_FILE wins over _DIR")
        let resolve = try sandbox.run(["resolve", "reflex", "--json"], env: ["REFLEX_CONFIG_DIR": dir])
        let json = try JSON.parse(resolve.stdout)
        #expect(json["source"]?["kind"] == .string("file"))
        #expect(json["source"]?["name"] == .string(dir + "/credentials.json"))
        // The override replaces the default location: the file in ~/.config/reflex is then not read.
        let missing = try sandbox.run(["get", "reflex"], env: ["REFLEX_CONFIG_FILE": sandbox.root + "/none.json"])
        #expect(missing.status == 1)
        #expect(missing.stdout == "")
    }

    /// "RFX_API_KEY is accepted as a legacy alias for REFLEX_API_KEY."
    @Test func legacyAlias() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let alias = try sandbox.run(["get", "reflex"], env: ["RFX_API_KEY": "rfx_legacy5555"])
        #expect(alias.status == 0)
        #expect(alias.stdout == "rfx_legacy5555\n")
        #expect(
            alias.stderr
                == "Warning: RFX_API_KEY is a legacy alias; set REFLEX_API_KEY instead (it works the same and wins over RFX_API_KEY).\n"
        )
        let both = try sandbox.run(
            ["get", "reflex"], env: ["RFX_API_KEY": "rfx_legacy5555", "REFLEX_API_KEY": "rfx_new6666"])
        #expect(both.stdout == "rfx_new6666\n")
        #expect(both.stderr == "", "no note when the preferred variable wins")
        let json = try JSON.parse(
            try sandbox.run(["resolve", "reflex", "--json"], env: ["RFX_API_KEY": "rfx_legacy5555"]).stdout)
        #expect(warningCodes(json["warnings"]) == ["deprecated-variable"])
    }

    /// "Permissions are set to 0600" — a wider file is reported with the fix.
    @Test func credentialsFilePermissions() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        try credentialsFile(sandbox)
        let path = sandbox.home + "/.config/reflex/credentials.json"
        #expect(chmod(path, 0o644) == 0)
        let result = try sandbox.run(["get", "reflex"])
        #expect(result.stdout == key + "\n")
        #expect(result.stderr.contains("Warning: \(path) has permissions 0644"))
        #expect(try sandbox.run(["get", "reflex", "--strict"]).status == 2)
    }

    /// "reflex whoami prints the account and organization the current key belongs to."
    @Test func whoami() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        try credentialsFile(sandbox)
        let result = try sandbox.run(["whoami", "reflex"])
        #expect(result.status == 0)
        #expect(
            result.stdout
                == "Account:      me@acme.io\nOrganization: Acme\nKey:          rfx_...1a8c (from the credentials file \(sandbox.home)/.config/reflex/credentials.json)\n"
        )
        let env = try sandbox.run(["whoami", "reflex"], env: ["REFLEX_API_KEY": "rfx_fromenv0000aaaa"])
        #expect(
            env.stdout.hasPrefix(
                "No account or organization was recorded with this key (rfx_...aaaa, from the environment variable REFLEX_API_KEY)."
            ))
        let none = try Sandbox(backend: "plaintext").run(["whoami", "reflex"])
        #expect(none.status == 1)
    }

    @Test func resolveExplainsEveryLayer() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        try credentialsFile(sandbox)
        let result = try sandbox.run(["resolve", "reflex", "--json"], env: ["REFLEX_API_KEY": "rfx_fromenv0000aaaa"])
        #expect(result.status == 0, "\(result)")
        let json = try JSON.parse(result.stdout)
        #expect(json["app"] == .string("reflex"))
        #expect(json["profile"] == .string("default"))
        #expect(json["found"] == .bool(true))
        #expect(json["source"]?["kind"] == .string("env"))
        #expect(json["source"]?["name"] == .string("REFLEX_API_KEY"))
        #expect(json["masked"] == .string("rfx_...aaaa"))
        #expect(json["key_kind"] == .null)
        guard case .array(let layers)? = json["layers"] else {
            Issue.record("no layers")
            return
        }
        let summary = layers.map { "\($0["kind"]!.stringValue!):\($0["status"]!.stringValue!)" }
        #expect(
            summary == [
                "flag:missing", "key-file:missing", "env:found", "env:missing", "file:shadowed", "store:missing",
            ])
        #expect(layers[4]["masked"] == .string("rfx_...1a8c"))
        #expect(!result.stdout.contains(key) && !result.stdout.contains("rfx_fromenv0000aaaa"))
        let text = try sandbox.run(["resolve", "reflex"])
        #expect(text.stdout.contains("Using rfx_...1a8c from the credentials file"))
        let nothing = try Sandbox(backend: "plaintext").run(["resolve", "reflex", "--json"])
        #expect(nothing.status == 1)
        #expect(try JSON.parse(nothing.stdout)["found"] == .bool(false))
    }

    /// `keyway run reflex -- reflex deploy`: the key in REFLEX_API_KEY, CMD's exit status passed through.
    @Test func runPassesKeyAndStatus() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        #expect(try sandbox.run(["login", "reflex", "--api-key", key]).status == 0)
        let script = "test \"$REFLEX_API_KEY\" = '\(key)' && echo \"args:$*\" && exit 7"
        let result = try sandbox.run(["run", "reflex", "--", "/bin/sh", "-c", script, "sh", "deploy", "--prod"])
        #expect(result.status == 7, "\(result)")
        #expect(result.stdout == "args:deploy --prod\n")
        let named = try sandbox.run([
            "run", "reflex", "--env", "TOKEN", "--", "/bin/sh", "-c", "test \"$TOKEN\" = '\(key)'",
        ])
        #expect(named.status == 0)
        let signalled = try sandbox.run(["run", "reflex", "--", "/bin/sh", "-c", "kill -KILL $$"])
        #expect(signalled.status == 9, "killed by SIGKILL, as the command itself was: \(signalled)")
        let missing = try sandbox.run(["run", "reflex", "--", "/no/such/command"])
        #expect(missing.status == 127)
        #expect(missing.stderr.hasPrefix("Error: Cannot run /no/such/command: "))
        #expect(try sandbox.run(["run", "reflex"]).status == 64)
        let notFound = try Sandbox(backend: "plaintext").run(["run", "reflex", "--", "/bin/true"])
        #expect(notFound.status == 1)
        #expect(notFound.stderr == "Error: API key is required. Run `keyway login reflex` or set REFLEX_API_KEY.\n")
    }
}

@Suite struct ReflowPageTests {
    let key = "9d2c7f1e4a8b3c6d0e5f9a2b7c4d1e8f"

    /// "The Reflow CLI can be passed an API key file using the -k parameter."
    @Test func keyFileFlagWins() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        try makeFile(sandbox.home + "/.reflow/api.key", "home-key-000000\n")
        try makeFile(sandbox.root + "/given.key", key + "\n")
        #expect(try sandbox.run(["get", "reflow", "-k", sandbox.root + "/given.key"]).stdout == key + "\n")
        #expect(try sandbox.run(["get", "reflow", "--key-file", sandbox.root + "/given.key"]).stdout == key + "\n")
        let missing = try sandbox.run(["get", "reflow", "-k", sandbox.root + "/nope.key"])
        #expect(missing.status == 2)
        #expect(missing.stderr == "Error: The key file \(sandbox.root)/nope.key does not exist.\n")
        #expect(try sandbox.run(["get", "reflow", "-k", "x", "--api-key", "y"]).status == 64)
    }

    /// "1. At the root of the current working directory's git repository ... mygitroot/reflow.key
    ///  2. At $HOME/.reflow/api.key ... before failing over to login authentication"
    @Test func gitRootThenHomeThenLogin() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let root = sandbox.root + "/mygitroot"
        try FileManager.default.createDirectory(atPath: root + "/myapp", withIntermediateDirectories: true)
        try git(["init", "-q"], in: root)
        try makeFile(root + "/reflow.key", key + "\n")
        try makeFile(sandbox.home + "/.reflow/api.key", "home-key-000000\n")
        let inRepo = try sandbox.run(["get", "reflow"], directory: root + "/myapp")
        #expect(inRepo.stdout == key + "\n", "\(inRepo)")
        // "It is recommended to not check in any personal API keys to git. A .gitignore rule on reflow.key can help."
        #expect(
            inRepo.stderr.contains(
                "Warning: \(root)/reflow.key holds an API key and is inside the git repository \(root), which would pick it up (it is not ignored). Add this line to \(root)/.gitignore: /reflow.key"
            ), "\(inRepo.stderr)")
        try makeFile(root + "/.gitignore", "reflow.key\n")
        let ignored = try sandbox.run(["get", "reflow"], directory: root + "/myapp")
        #expect(ignored.stdout == key + "\n")
        #expect(ignored.stderr == "", "an ignored key file gets no warning")
        let outside = try sandbox.run(["get", "reflow"], directory: sandbox.root)
        #expect(outside.stdout == "home-key-000000\n")
        try FileManager.default.removeItem(atPath: sandbox.home + "/.reflow/api.key")
        #expect(try sandbox.run(["login", "reflow", "--api-key", "stored-key-11111"]).status == 0)
        #expect(try sandbox.run(["get", "reflow"], directory: sandbox.root).stdout == "stored-key-11111\n")
    }

    /// Reflow documents no environment variable: REFLOW_API_KEY is not read.
    @Test func noEnvironmentVariable() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let result = try sandbox.run(
            ["get", "reflow"], env: ["REFLOW_API_KEY": "should-not-be-used"], directory: sandbox.root)
        #expect(result.status == 1)
        #expect(
            result.stderr
                == "Error: API key is required. Pass a key file with --key-file (reflow's -k), put reflow.key at the root of the git repository or the key in ~/.reflow/api.key, or run `keyway login reflow`.\n"
        )
        let run = try sandbox.run(["run", "reflow", "--", "/bin/true"], directory: sandbox.root)
        #expect(run.status == 2)
        #expect(run.stderr == "Error: reflow reads its key from no environment variable; name one with --env NAME.\n")
    }
}

@Suite struct ReactorPageTests {
    let key = "rp_7b3e9c1d5f2a8e4b6c0d9f3a"

    func credentials(_ sandbox: Sandbox, key: String? = nil) throws {
        try makeFile(
            sandbox.home + "/.reactor/credentials",
            """
            {
              "api_key": "\(key ?? self.key)",
              "partner_id": "your-org",
              "registry": "registry.reactor.inc/your-org",
              "registry_token": "tok",
              "registry_token_expiry": "2025-01-01T12:00:00Z"
            }
            """)
    }

    /// "Stores everything locally at ~/.reactor/credentials in JSON format"
    @Test func credentialsFile() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        try credentials(sandbox)
        #expect(try sandbox.run(["get", "reactor"]).stdout == key + "\n")
        let whoami = try sandbox.run(["whoami", "reactor"])
        #expect(whoami.stdout.contains("Organization: your-org"), "partner_id is the organization")
        #expect(
            try sandbox.run(["get", "reactor"], env: ["REACTOR_API_KEY": "rp_env"]).stdout == key + "\n",
            "Reactor documents no variable, so none is read")
    }

    /// "Invalid API key — Verify your key in the Dashboard. Keys start with rp_."
    @Test func loginRefusesOtherPrefixes() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let result = try sandbox.run(["login", "reactor", "--api-key", "sk_notreactor123"])
        #expect(result.status == 2)
        #expect(
            result.stderr
                == "Error: Invalid API key: verify your key in the Dashboard. Keys start with rp_. Nothing was stored.\n"
        )
        #expect(!FileManager.default.fileExists(atPath: sandbox.credentialsFile))
        #expect(try sandbox.run(["login", "reactor", "--api-key", key]).status == 0)
    }

    /// "Credentials file not found — Run reactor auth login again."
    @Test func notFound() throws {
        let result = try Sandbox(backend: "plaintext").run(["get", "reactor"])
        #expect(result.status == 1)
        #expect(result.stderr == "Error: Credentials file not found. Run `keyway login reactor` again.\n")
    }

    /// "The CLI stores credentials at ~/.reactor/credentials and will warn you if this file is inside a git repository."
    @Test func warnsWhenInsideAGitRepository() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        try credentials(sandbox)
        try git(["init", "-q"], in: sandbox.home)
        let file = sandbox.home + "/.reactor/credentials"
        let untracked = try sandbox.run(["get", "reactor"])
        #expect(untracked.stdout == key + "\n")
        #expect(
            untracked.stderr
                == "Warning: \(file) holds an API key and is inside the git repository \(sandbox.home), which would pick it up (it is not ignored). Add this line to \(sandbox.home)/.gitignore: /.reactor/credentials\n"
        )
        try git(["add", ".reactor/credentials"], in: sandbox.home)
        let tracked = try sandbox.run(["get", "reactor"])
        #expect(
            tracked.stderr
                == "Warning: \(file) holds an API key and is TRACKED by git in the repository \(sandbox.home). Stop tracking it with: git -C \(sandbox.home) rm --cached -- .reactor/credentials and add this line to \(sandbox.home)/.gitignore: /.reactor/credentials If the file was ever committed and pushed, rotate the key now.\n"
        )
    }
}

@Suite struct ReminixPageTests {
    /// "export REMINIX_API_KEY=reminix_sk_..." and "client = Reminix(api_key="reminix_sk_...")"
    @Test func environmentAndExplicitArgument() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let env = ["REMINIX_API_KEY": "reminix_sk_8f3a1c9e7b2d5f0a4c6e"]
        #expect(try sandbox.run(["get", "reminix"], env: env).stdout == "reminix_sk_8f3a1c9e7b2d5f0a4c6e\n")
        #expect(
            try sandbox.run(["get", "reminix", "--api-key", "reminix_pat_x1y2z3w4v5u6t7s8r9q0"], env: env).stdout
                == "reminix_pat_x1y2z3w4v5u6t7s8r9q0\n")
        let missing = try sandbox.run(["get", "reminix"])
        #expect(missing.stderr == "Error: API key is required. Run `keyway login reminix` or set REMINIX_API_KEY.\n")
    }

    /// Token kinds by prefix: reminix_sk_ API key (server), reminix_ct_ client token, reminix_pat_ personal access token.
    @Test(arguments: [
        ("reminix_sk_8f3a1c9e7b2d5f0a4c6e", "server API key"),
        ("reminix_ct_1a2b3c4d5e6f7a8b9c0d", "client token"),
        ("reminix_pat_9z8y7x6w5v4u3t2s1r0q", "personal access token"),
    ])
    func tokenKinds(key: String, kind: String) throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let login = try sandbox.run(["login", "reminix", "--api-key", key])
        #expect(login.stdout.hasPrefix("Stored the API key (\(kind)) for reminix (profile default)"), "\(login)")
        let resolve = try JSON.parse(try sandbox.run(["resolve", "reminix", "--json"]).stdout)
        #expect(resolve["key_kind"] == .string(kind))
        let status = try sandbox.run(["status", "reminix"])
        #expect(status.stdout.contains("  Kind:         \(kind)\n"))
        let json = try JSON.parse(try sandbox.run(["status", "reminix", "--json"]).stdout)
        #expect(elements(json["credentials"])?.map { $0["key_kind"] } == [.string(kind)], "\(json)")
    }

    @Test func unexpectedPrefixWarns() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let login = try sandbox.run(["login", "reminix", "--api-key", "sk-something-else-123"])
        #expect(login.status == 0)
        #expect(
            login.stderr
                == "Warning: This key does not start with reminix_sk_ or reminix_ct_ or reminix_pat_, as reminix keys do; check that it is the right key.\n"
        )
    }
}

@Suite struct FluxLoopPageTests {
    let yaml = """
        # written by fluxloop auth login
        profiles:
          default:
            api_key: flux_dev_abc123def456ghi789jkl012mno34
            account: john@example.com
            expires: "\(dayFromToday(84))"

          production:
            api_key: flux_prod_xyz789uvw456rst123opq890lmn
            account: john@example.com
            expires: "\(dayFromToday(192))"
        """

    func sandbox() throws -> Sandbox {
        let sandbox = try Sandbox(backend: "plaintext")
        try makeFile(sandbox.home + "/.fluxloop/credentials", yaml)
        return sandbox
    }

    /// "Credentials are stored in ~/.fluxloop/credentials" with profiles; "--profile <name>"
    @Test func profilesFromTheCredentialsFile() throws {
        let s = try sandbox()
        #expect(try s.run(["get", "fluxloop"]).stdout == "flux_dev_abc123def456ghi789jkl012mno34\n")
        #expect(
            try s.run(["get", "fluxloop", "--profile", "production"]).stdout
                == "flux_prod_xyz789uvw456rst123opq890lmn\n")
        let missing = try s.run(["get", "fluxloop", "--profile", "staging"])
        #expect(missing.status == 1)
        #expect(
            missing.stderr
                == "Error: API key is required. Run `keyway login fluxloop --profile staging` or set FLUXLOOP_API_KEY.\n"
        )
        let resolve = try JSON.parse(try s.run(["resolve", "fluxloop", "--profile", "staging", "--json"]).stdout)
        let file = elements(resolve["layers"])?.first { $0["kind"] == .string("file") }
        #expect(
            file?["detail"]
                == .string(s.home + "/.fluxloop/credentials has no profile staging (profiles: default, production)"),
            "\(resolve)")
    }

    /// A credentials file saved with CRLF line endings (Windows editors, files copied from Windows) gives the file's
    /// key, not the store's, and never a key ending in a carriage return.
    @Test func crlfLineEndings() throws {
        let s = try Sandbox(backend: "plaintext")
        #expect(try s.run(["login", "fluxloop", "--api-key", "flux_dev_storedkey000000000000"]).status == 0)
        try makeFile(s.home + "/.fluxloop/credentials", yaml.replacingOccurrences(of: "\n", with: "\r\n") + "\r\n")
        #expect(try s.run(["get", "fluxloop"]).stdout == "flux_dev_abc123def456ghi789jkl012mno34\n")
        #expect(
            try s.run(["get", "fluxloop", "--profile", "production"]).stdout
                == "flux_prod_xyz789uvw456rst123opq890lmn\n")

        // One CRLF line, the key's, in an LF file.
        let oneLine = yaml.replacingOccurrences(
            of: "api_key: flux_dev_abc123def456ghi789jkl012mno34\n",
            with: "api_key: flux_dev_abc123def456ghi789jkl012mno34\r\n")
        #expect(oneLine != yaml)
        try makeFile(s.home + "/.fluxloop/credentials", oneLine)
        let get = try s.run(["get", "fluxloop"])
        #expect(get.stdout == "flux_dev_abc123def456ghi789jkl012mno34\n", "\(get)")
        let run = try s.run(
            [
                "run", "fluxloop", "--", "/bin/sh", "-c",
                "test \"$FLUXLOOP_API_KEY\" = flux_dev_abc123def456ghi789jkl012mno34",
            ])
        #expect(run.status == 0, "the exported key has no trailing carriage return: \(run)")
        let status = try s.run(["status", "fluxloop", "--profile", "default"])
        #expect(status.stdout.contains("  Account:      john@example.com\n"), "\(status)")
    }

    /// YAML as other tools write it: a flow mapping, an empty `profiles: {}` (PyYAML's), anchors and merge keys.
    @Test func yamlWrittenByOtherTools() throws {
        let s = try Sandbox(backend: "plaintext")
        try makeFile(
            s.home + "/.fluxloop/credentials",
            """
            defaults: &defaults {account: john@example.com, expires: '2030-01-01'}
            profiles:
              default: {<<: *defaults, api_key: "flux_dev_\\x41flow"}
              production:
                <<: *defaults
                api_key: >-
                  flux_prod_folded
            """)
        #expect(try s.run(["get", "fluxloop"]).stdout == "flux_dev_Aflow\n")
        #expect(try s.run(["get", "fluxloop", "--profile", "production"]).stdout == "flux_prod_folded\n")
        let status = try s.run(["status", "fluxloop", "--profile", "production"])
        #expect(status.stdout.contains("  Account:      john@example.com\n"), "\(status)")

        try makeFile(s.home + "/.fluxloop/credentials", "profiles: {}\n")
        let none = try s.run(["resolve", "fluxloop", "--json"])
        #expect(none.stdout.contains("has no profile default (profiles: none)"), "\(none)")
    }

    /// A duplicate key is refused with its place, and the error does not quote the key (it may be an API key).
    @Test func duplicateKeyErrorQuotesNothing() throws {
        let s = try Sandbox(backend: "plaintext")
        let file = s.home + "/.fluxloop/credentials"
        try makeFile(
            file, "profiles:\n  flux_dev_pastedkey0000:\n    api_key: a\n  flux_dev_pastedkey0000:\n    api_key: b\n")
        let get = try s.run(["get", "fluxloop"])
        #expect(get.status == 2, "\(get)")
        #expect(get.stdout == "")
        #expect(
            get.stderr.contains(
                "\(file) is not valid YAML: a duplicate key in one mapping (first at line 2, column 3) at line 4, column 3."
            ), "\(get)")
        #expect(!get.stderr.contains("pastedkey"))
    }

    /// "Environment variables take precedence over saved credentials."
    @Test func environmentBeatsSavedCredentials() throws {
        let s = try sandbox()
        let env = ["FLUXLOOP_API_KEY": "flux_dev_fromenvironment0000000"]
        #expect(try s.run(["get", "fluxloop"], env: env).stdout == "flux_dev_fromenvironment0000000\n")
        #expect(
            try s.run(["get", "fluxloop", "--profile", "production"], env: env).stdout
                == "flux_dev_fromenvironment0000000\n")
        #expect(try s.run(["get", "fluxloop", "--api-key", "flux_dev_flag"], env: env).stdout == "flux_dev_flag\n")
    }

    /// "fluxloop auth status": profile, account, masked key, "Expires: 2024-04-15 (84 days remaining)"; --json
    @Test func status() throws {
        let s = try sandbox()
        let status = try s.run(["status", "fluxloop", "--profile", "default"])
        #expect(status.status == 0, "\(status)")
        #expect(status.stdout.contains("fluxloop (profile default)\n"))
        #expect(status.stdout.contains("  API Key:      flux_dev_...no34\n"))
        #expect(status.stdout.contains("  Source:       credentials file \(s.home)/.fluxloop/credentials\n"))
        #expect(status.stdout.contains("  Account:      john@example.com\n"))
        #expect(status.stdout.contains("  Expires:      \(dayFromToday(84)) (84 days remaining)\n"))
        #expect(!status.stdout.contains("abc123def456"))
        let all = try JSON.parse(try s.run(["status", "fluxloop", "--json"]).stdout)
        guard case .array(let entries)? = all["credentials"] else {
            Issue.record("no credentials")
            return
        }
        #expect(entries.map { $0["profile"] } == [.string("default"), .string("production")])
        #expect(entries[1]["days_remaining"] == .int(192))
        #expect(entries[1]["source"]?["kind"] == .string("file"))
    }

    /// "Rotate keys regularly: Generate new API keys every 90 days" — status reminds for an older stored key.
    @Test func rotationReminder() throws {
        let s = try Sandbox(backend: "plaintext")
        try FileManager.default.createDirectory(atPath: s.configDirectory, withIntermediateDirectories: true)
        try writeFile(
            s.credentialsFile,
            """
            {"format": "keyway-credentials", "version": 1, "credentials": [
              {"app": "fluxloop", "profile": "default", "api_key": "flux_dev_old0000000000000000",
               "created": "2020-01-01T00:00:00Z", "updated": "2020-01-01T00:00:00Z"},
              {"app": "fluxloop", "profile": "fresh", "api_key": "flux_dev_new0000000000000000",
               "created": "\(Timestamp.now())", "updated": "\(Timestamp.now())"}]}
            """, mode: 0o600)
        let status = try s.run(["status", "fluxloop", "--json"])
        let json = try JSON.parse(status.stdout)
        guard case .array(let entries)? = json["credentials"] else {
            Issue.record("\(status)")
            return
        }
        #expect(warningCodes(entries[0]["warnings"])?.contains("rotate") == true, "\(status)")
        #expect(warningCodes(entries[1]["warnings"])?.contains("rotate") == false, "\(status)")
        #expect(status.status == 0, "a rotation reminder is not a failed check")
    }

    /// "fluxloop auth logout --all: Log out from all profiles"
    @Test func logoutAll() throws {
        let s = try Sandbox(backend: "plaintext")
        #expect(try s.run(["login", "fluxloop", "--api-key", "flux_dev_one11111"]).status == 0)
        #expect(
            try s.run(["login", "fluxloop", "--profile", "production", "--api-key", "flux_prod_two22222"]).status == 0)
        #expect(
            try s.run(["logout", "fluxloop", "--all"]).stdout
                == "Removed 2 profiles of fluxloop: default, production.\n")
        #expect(try s.run(["get", "fluxloop"]).status == 1)
    }

    /// import: copy into Keyway's store, read back, then (with --remove) delete the plaintext original.
    @Test func importAndRemove() throws {
        let s = try sandbox()
        let file = s.home + "/.fluxloop/credentials"
        let imported = try s.run(["import", "fluxloop", "--profile", "production", "--remove"])
        #expect(imported.status == 2, "the file still holds the default profile: \(imported)")
        #expect(
            imported.stdout
                == "Imported the key for fluxloop (profile production) from \(file) into the plaintext store: \(s.credentialsFile)\n"
        )
        #expect(
            imported.stderr
                == "Error: Not removing \(file): it also holds the profile default, whose key is not in the plaintext store. Import it too (keyway import fluxloop --profile NAME --remove: the file goes once the store holds every profile) or remove the file by hand.\n"
        )
        #expect(FileManager.default.fileExists(atPath: file))
        let list = try JSON.parse(try s.run(["list", "--json"]).stdout)
        let production = elements(list["credentials"])?.first {
            $0["app"] == .string("fluxloop") && $0["profile"] == .string("production")
        }
        #expect(production?["masked"]?.stringValue?.hasPrefix("flux_prod_...") == true, "\(list)")
        #expect(production?["account"] == .string("john@example.com"), "\(list)")

        let single = try Sandbox(backend: "plaintext")
        try makeFile(
            single.home + "/.fluxloop/credentials", "profiles:\n  default:\n    api_key: flux_dev_only0000000000000\n")
        let removed = try single.run(["import", "fluxloop", "--remove"])
        #expect(removed.status == 0, "\(removed)")
        #expect(removed.stdout.hasSuffix("Removed \(single.home)/.fluxloop/credentials.\n"))
        #expect(!FileManager.default.fileExists(atPath: single.home + "/.fluxloop/credentials"))
        #expect(try single.run(["get", "fluxloop"]).stdout == "flux_dev_only0000000000000\n")
    }
}

@Suite struct ImportSafetyTests {
    /// import --remove never deletes before the store holds the key.
    @Test func failedStoreWriteKeepsTheOriginal() throws {
        let s = try Sandbox(backend: "plaintext")
        let original = s.home + "/.config/reflex/credentials.json"
        try makeFile(original, "{\"api_key\": \"rfx_import0000000000000000\"}")
        try makeFile(s.credentialsFile, "{ this store is corrupt")
        let result = try s.run(["import", "reflex", "--remove"])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("Error: \(s.credentialsFile) is not valid JSON"))
        #expect(FileManager.default.fileExists(atPath: original))
        let nothing = try Sandbox(backend: "plaintext").run(["import", "reflex"])
        #expect(nothing.status == 1)
        #expect(nothing.stderr.hasPrefix("No key for reflex (profile default) in reflex's own files (looked in: "))
        let noFiles = try Sandbox(backend: "plaintext").run(["import", "someapp"])
        #expect(
            noFiles.stderr == "No key for someapp (profile default) in someapp's own files (its spec names none).\n")
    }
}
