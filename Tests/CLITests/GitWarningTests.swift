import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

/// The git-repository warning in each repository shape, through the CLI.
@Suite struct GitWarningTests {
    let key = "rfx_0a1b2c3d4e5f6a7b8c9d0e1f"

    /// A sandbox whose Reflex credentials file is at `directory`/credentials.json (through REFLEX_CONFIG_DIR).
    func reflexFile(_ sandbox: Sandbox, in directory: String) throws -> [String: String] {
        try makeFile(directory + "/credentials.json", "{\"api_key\": \"\(key)\"}")
        return ["REFLEX_CONFIG_DIR": directory]
    }

    @Test func noWarningOutsideRepositories() throws {
        let s = try Sandbox(backend: "plaintext")
        let env = try reflexFile(s, in: s.root + "/plain")
        let result = try s.run(["get", "reflex"], env: env)
        #expect(result.stdout == key + "\n")
        #expect(result.stderr == "")
    }

    @Test func untrackedIgnoredAndTracked() throws {
        let s = try Sandbox(backend: "plaintext")
        let repo = s.root + "/project"
        try FileManager.default.createDirectory(atPath: repo, withIntermediateDirectories: true)
        try git(["init", "-q"], in: repo)
        let env = try reflexFile(s, in: repo + "/conf dir/ünï")
        let file = repo + "/conf dir/ünï/credentials.json"
        let untracked = try s.run(["get", "reflex"], env: env)
        #expect(
            untracked.stderr
                == "Warning: \(file) holds an API key and is inside the git repository \(repo), which would pick it up (it is not ignored). Add this line to \(repo)/.gitignore: /conf dir/ünï/credentials.json\n"
        )
        try makeFile(repo + "/.gitignore", "/conf dir/ünï/credentials.json\n")
        #expect(try s.run(["get", "reflex"], env: env).stderr == "", "the suggested line silences it")
        try git(["add", "-f", "conf dir/ünï/credentials.json"], in: repo)
        let tracked = try s.run(["get", "reflex"], env: env)
        #expect(
            tracked.stderr.contains("is TRACKED by git in the repository \(repo)"),
            "ignored but tracked is still tracked")
        #expect(
            tracked.stderr.contains("git -C \(repo) rm --cached -- 'conf dir/ünï/credentials.json'"),
            "\(tracked.stderr)")
        #expect(tracked.stderr.contains("rotate the key"))
        let silenced = try s.run(["get", "reflex"], env: env.merging(["KEYWAY_NO_GIT_WARNING": "1"]) { $1 })
        #expect(silenced.stderr == "")
        #expect(silenced.stdout == key + "\n")
    }

    @Test func linkedWorktree() throws {
        let s = try Sandbox(backend: "plaintext")
        let repo = s.root + "/main"
        try FileManager.default.createDirectory(atPath: repo, withIntermediateDirectories: true)
        try git(["init", "-q"], in: repo)
        try makeFile(repo + "/README", "x")
        try git(["add", "README"], in: repo)
        try git(["commit", "-qm", "init"], in: repo)
        try git(["worktree", "add", "-q", s.root + "/wt"], in: repo)
        let env = try reflexFile(s, in: s.root + "/wt/config")
        let result = try s.run(["get", "reflex"], env: env)
        #expect(
            result.stderr.contains("is inside the git repository \(s.root)/wt, which would pick it up"), "\(result)")
    }

    @Test func submodule() throws {
        let s = try Sandbox(backend: "plaintext")
        let library = s.root + "/library"
        let app = s.root + "/app"
        for dir in [library, app] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try git(["init", "-q"], in: dir)
            try makeFile(dir + "/README", dir)
            try git(["add", "README"], in: dir)
            try git(["commit", "-qm", "init"], in: dir)
        }
        try git(["-c", "protocol.file.allow=always", "submodule", "add", "-q", library, "vendor/library"], in: app)
        let env = try reflexFile(s, in: app + "/vendor/library/secrets")
        let result = try s.run(["get", "reflex"], env: env)
        #expect(
            result.stderr.contains("is inside the git repository \(app)/vendor/library, which would pick it up"),
            "\(result)")
    }

    @Test func gitDirAndWorkTreeVariables() throws {
        let s = try Sandbox(backend: "plaintext")
        let gitDir = s.root + "/dotfiles.git"
        let work = s.root + "/tree"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        try git(["init", "-q", "--bare", gitDir], in: s.root)
        var env = try reflexFile(s, in: work + "/cfg")
        env["GIT_DIR"] = gitDir
        env["GIT_WORK_TREE"] = work
        let result = try s.run(["get", "reflex"], env: env)
        #expect(result.stderr.contains("is inside the git repository \(work), which would pick it up"), "\(result)")
        env["GIT_WORK_TREE"] = s.root + "/other"
        #expect(try s.run(["get", "reflex"], env: env).stderr == "", "outside that work tree")
    }

    /// A home directory that is itself a repository (dotfiles): Keyway's own store file is in it.
    @Test func homeAsRepositoryAndKeywaysOwnStore() throws {
        let s = try Sandbox(backend: "plaintext")
        try git(["init", "-q"], in: s.home)
        let store = s.home + "/.config/keyway/credentials.json"
        let login = try s.run(["login", "reflex", "--api-key", key], removing: ["KEYWAY_CONFIG_DIR"])
        #expect(login.status == 0)
        #expect(
            login.stderr
                == "Warning: \(store) holds an API key and is inside the git repository \(s.home), which would pick it up (it is not ignored). Add this line to \(s.home)/.gitignore: /.config/keyway/credentials.json\n"
        )
        let get = try s.run(["get", "reflex"], removing: ["KEYWAY_CONFIG_DIR"])
        #expect(get.stdout == key + "\n")
        #expect(get.stderr.contains("/.config/keyway/credentials.json"), "reads warn too")
        try makeFile(s.home + "/.gitignore", ".config/keyway/\n")
        #expect(try s.run(["get", "reflex"], removing: ["KEYWAY_CONFIG_DIR"]).stderr == "")
    }

    /// A repository git refuses to answer for still gets a warning (never silence).
    @Test func gitFailureStillWarns() throws {
        let s = try Sandbox(backend: "plaintext")
        let repo = s.root + "/broken"
        try FileManager.default.createDirectory(atPath: repo, withIntermediateDirectories: true)
        try makeFile(repo + "/.git", "gitdir: /nonexistent/path\n")
        let env = try reflexFile(s, in: repo)
        let result = try s.run(["get", "reflex"], env: env)
        #expect(result.stdout == key + "\n")
        #expect(result.stderr.contains("but git could not say whether it tracks it"), "\(result)")
    }
}

@Suite struct AppSpecCLITests {
    @Test func builtInsAreListed() throws {
        let s = try Sandbox(backend: "plaintext")
        let json = try JSON.parse(try s.run(["apps", "--json"]).stdout)
        guard case .array(let apps)? = json["apps"] else {
            Issue.record("no apps")
            return
        }
        // The five vendors of the seed pages, then the ten tools of issue 16.
        let names = [
            "reflex", "reflow", "reactor", "reminix", "fluxloop", "gh", "openai", "anthropic", "huggingface", "npm",
            "pypi", "stripe", "gitlab", "doctl", "sentry",
        ]
        #expect(apps.map { $0["name"] } == names.map { .string($0) })
        #expect(apps.allSatisfy { $0["origin"] == .string("built-in") })
        #expect(apps[0]["env"] == .array([.string("REFLEX_API_KEY"), .string("RFX_API_KEY")]))
        let text = try s.run(["apps"])
        #expect(text.stdout.contains("reflex  (built-in)\n  env:      REFLEX_API_KEY, RFX_API_KEY (legacy)\n"))
        #expect(text.stdout.contains("reflow.key at the root of the current git repository"))
    }

    @Test func userSpecOverridesAndAdds() throws {
        let s = try Sandbox(backend: "plaintext")
        try makeFile(
            s.configDirectory + "/apps/reflex.json",
            """
            {"name": "reflex", "env": ["MY_REFLEX_KEY"], "sources": [{"type": "raw", "path": "~/reflex.key"}, {"type": "store"}],
             "not_found": "No Reflex key: run `{login}`."}
            """)
        try makeFile(
            s.configDirectory + "/apps/acme.json",
            """
            {"name": "acme", "env": ["ACME_TOKEN"], "sources": [{"type": "store"}], "required_prefixes": ["acme_"]}
            """)
        try makeFile(s.home + "/reflex.key", "rfx_fromrawfile0000\n")
        #expect(try s.run(["get", "reflex"], env: ["REFLEX_API_KEY": "ignored"]).stdout == "rfx_fromrawfile0000\n")
        #expect(try s.run(["get", "reflex"], env: ["MY_REFLEX_KEY": "rfx_mine"]).stdout == "rfx_mine\n")
        try FileManager.default.removeItem(atPath: s.home + "/reflex.key")
        #expect(try s.run(["get", "reflex"]).stderr == "Error: No Reflex key: run `keyway login reflex`.\n")
        #expect(try s.run(["get", "acme"], env: ["ACME_TOKEN": "acme_1"]).stdout == "acme_1\n")
        let refused = try s.run(["login", "acme", "--api-key", "nope_1234567"])
        #expect(refused.status == 2)
        #expect(refused.stderr == "Error: Invalid API key: acme keys start with acme_. Nothing was stored.\n")
        let apps = try JSON.parse(try s.run(["apps", "--json"]).stdout)
        guard case .array(let list)? = apps["apps"] else {
            Issue.record("no apps array: \(apps)")
            return
        }
        #expect(list[0]["origin"] == .string(s.configDirectory + "/apps/reflex.json"))
        #expect(list[0]["overrides_built_in"] == .bool(true))
        #expect(list.last?["name"] == .string("acme"))
    }

    @Test(arguments: [
        ("{\"name\": \"x\", \"sources\": [{\"type\": \"store\"}]}", "\"env\" is missing"),
        (
            "{\"name\": \"x\", \"env\": [], \"sources\": []}",
            "\"sources\" must contain exactly one {\"type\": \"store\"}"
        ),
        (
            "{\"name\": \"x\", \"env\": [\"1BAD\"], \"sources\": [{\"type\": \"store\"}]}",
            "\"env\"[0] is not a valid environment variable name"
        ),
        (
            "{\"name\": \"x\", \"env\": [], \"sources\": [{\"type\": \"json\", \"path\": \"~/f\"}, {\"type\": \"store\"}]}",
            "sources[0].key_field is missing"
        ),
        (
            "{\"name\": \"x\", \"env\": [], \"sources\": [{\"type\": \"ftp\"}]}",
            "sources[0].type must be one of json, raw, yaml-profiles, yaml, ini, toml, npmrc, keyring, git-root, store."
        ),
        (
            "{\"name\": \"x\", \"env\": [], \"sources\": [{\"type\": \"store\", \"path\": \"p\"}]}",
            "sources[0].path is not a field of a store source"
        ),
        (
            "{\"name\": \"x\", \"env\": [], \"sources\": [{\"type\": \"store\"}], \"colour\": 1}",
            "\"colour\" is not a known field"
        ),
        (
            "{\"name\": \"x\", \"env\": [], ",
            "is not valid JSON: unexpected end of file inside an object at line 1, column 26"
        ),
    ])
    func malformedSpecNamesFileAndField(text: String, message: String) throws {
        let s = try Sandbox(backend: "plaintext")
        let file = s.configDirectory + "/apps/x.json"
        try makeFile(file, text)
        let result = try s.run(["get", "anything"])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("Error: App spec \(file)"), "\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }
}

/// Examples/ReflexExample: a CLI that declares its spec in code and uses the library for everything else.
@Suite struct ExampleCLITests {
    @Test func loginWhoamiDeployLogout() throws {
        let s = try Sandbox(backend: "plaintext")
        func example(_ arguments: [String], env: [String: String] = [:], stdin: String? = nil) throws -> RunResult {
            try s.run(arguments, env: env, stdin: stdin, binary: exampleBinary)
        }
        let missing = try example(["deploy"])
        #expect(missing.status == 1)
        #expect(
            missing.stderr == "Error: API key is required. Run `reflex-example login` or set REFLEX_EXAMPLE_API_KEY.\n")
        let login = try example(["login"], stdin: "rfx_example000011112222\n")
        #expect(login.status == 0, "\(login)")
        #expect(login.stdout == "Logged in to reflex-example (profile default) with rfx_...2222.\n")
        #expect(
            try example(["deploy"]).stdout
                == "Deploying with key rfx_...2222 from the plaintext store \(s.credentialsFile).\n")
        #expect(try s.run(["get", "reflex-example"]).stdout == "rfx_example000011112222\n", "the same store as keyway")
        let env = try example(["deploy"], env: ["REFLEX_EXAMPLE_API_KEY": "rfx_fromenvironment99"])
        #expect(env.stdout == "Deploying with key rfx_...nt99 from the environment variable REFLEX_EXAMPLE_API_KEY.\n")
        try makeFile(
            s.home + "/.config/reflex-example/credentials.json",
            "{\"api_key\": \"rfx_fromfile000033334444\", \"account\": \"ci@acme.io\"}")
        let whoami = try example(["whoami"])
        #expect(
            whoami.stdout
                == "ci@acme.io — key rfx_...4444 from the credentials file \(s.home)/.config/reflex-example/credentials.json\n"
        )
        let warned = try example(["login", "--api-key", "not-a-reflex-key-1234"])
        #expect(warned.stderr.hasPrefix("Warning: This key does not start with rfx_"))
        #expect(try example(["logout"]).status == 0)
        #expect(try example(["logout"]).status == 1)
        #expect(try example(["frobnicate"]).status == 64)
    }
}
