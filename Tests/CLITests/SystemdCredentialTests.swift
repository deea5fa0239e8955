import Foundation
import KeywayTestSupport
import Testing

/// Issue 16: systemd credentials in $CREDENTIALS_DIRECTORY, a resolution layer right after the environment.
@Suite struct SystemdCredentialTests {
    @Test func aCredentialFileComesRightAfterTheEnvironment() throws {
        let s = try Sandbox(backend: "plaintext")
        try #require(try s.run(["login", "reflex", "--api-key", "rfx_stored_key_0123456789"]).status == 0)
        let directory = s.root + "/credentials"
        try makeFile(directory + "/keyway.reflex", "rfx_systemd_cred_0123456789\n", mode: 0o400)
        try makeFile(directory + "/keyway.reflex.prod", "rfx_systemd_prod_0123456789", mode: 0o400)
        try makeFile(directory + "/keyway.tool", "tool_systemd_cred_abcdef012", mode: 0o400)
        let env = ["CREDENTIALS_DIRECTORY": directory]
        #expect(try s.run(["get", "reflex"], env: env).stdout == "rfx_systemd_cred_0123456789\n")
        #expect(try s.run(["get", "reflex", "--profile", "prod"], env: env).stdout == "rfx_systemd_prod_0123456789\n")
        #expect(try s.run(["get", "tool"], env: env).stdout == "tool_systemd_cred_abcdef012\n", "every app")
        // The environment wins over it; it wins over the store.
        let winner = try s.run(
            ["get", "reflex"], env: env.merging(["REFLEX_API_KEY": "rfx_from_env_0123456789"]) { $1 })
        #expect(winner.stdout == "rfx_from_env_0123456789\n")
        let resolve = try s.run(["resolve", "reflex"], env: env)
        let lines = resolve.stdout.split(separator: "\n").map(String.init)
        let layer = try #require(lines.firstIndex { $0.contains(directory + "/keyway.reflex:") }, "\(resolve)")
        #expect(lines[layer].contains("found"), "\(resolve)")
        #expect(lines[layer - 1].contains("env RFX_API_KEY"), "right after the environment: \(resolve)")
        #expect(lines.contains { $0.contains("store plaintext: shadowed") }, "\(resolve)")
        let run = try s.run(["run", "reflex", "--no-mask", "--", "/bin/sh", "-c", "echo $REFLEX_API_KEY"], env: env)
        #expect(run.stdout == "rfx_systemd_cred_0123456789\n", "\(run)")
        // Without the variable, the store.
        #expect(try s.run(["get", "reflex"]).stdout == "rfx_stored_key_0123456789\n")
    }

    @Test func itsFileIsCheckedAsToolFilesAre() throws {
        let s = try Sandbox(backend: "plaintext")
        let directory = s.root + "/credentials"
        try makeFile(directory + "/keyway.reflex", "rfx_systemd_cred_0123456789\n", mode: 0o644)
        let env = ["CREDENTIALS_DIRECTORY": directory]
        let warned = try s.run(["get", "reflex"], env: env)
        #expect(warned.status == 0 && warned.stderr.contains("Warning:"), "\(warned)")
        let strict = try s.run(["get", "reflex", "--strict"], env: env)
        #expect(strict.status == 2 && !strict.stdout.contains("rfx_"), "\(strict)")
        try FileManager.default.removeItem(atPath: directory + "/keyway.reflex")
        try FileManager.default.createSymbolicLink(
            atPath: directory + "/keyway.reflex", withDestinationPath: "/etc/passwd")
        let link = try s.run(["get", "reflex"], env: env)
        #expect(link.status == 2, "\(link)")
    }

    @Test func systemdUnitPrintsTheUnitLines() throws {
        let s = try Sandbox(backend: "plaintext")
        let run = try s.run(["systemd-unit", "reflex", "--profile", "prod"])
        #expect(run.status == 0, "\(run)")
        #expect(
            run.stdout.contains(
                "LoadCredentialEncrypted=keyway.reflex.prod:/etc/credstore.encrypted/keyway.reflex.prod\n"))
        #expect(
            run.stdout.contains(
                "systemd-creds encrypt --name=keyway.reflex.prod - /etc/credstore.encrypted/keyway.reflex.prod"))
        #expect(try s.run(["systemd-unit", "a/b"]).status == 2)
    }
}

/// Issue 16: built-in specs for the command-line tools people run.
@Suite struct ToolSpecTests {
    static let tools = [
        "gh", "openai", "anthropic", "huggingface", "npm", "pypi", "stripe", "gitlab", "doctl", "sentry",
    ]

    @Test func appsListsThemAndAUserSpecStillOverrides() throws {
        let s = try Sandbox(backend: "plaintext")
        let apps = try s.run(["apps"])
        for tool in Self.tools { #expect(apps.stdout.contains("\n\(tool)  (built-in)"), "\(tool): \(apps.stdout)") }
        try makeFile(
            s.configDirectory + "/apps/gh.json",
            "{\"name\": \"gh\", \"env\": [\"MY_GH\"], \"sources\": [{\"type\": \"store\"}]}")
        let overridden = try s.run(["apps"])
        #expect(overridden.stdout.contains("overrides the built-in spec"), "\(overridden)")
        #expect(try s.run(["get", "gh"], env: ["MY_GH": "ghp_" + String(repeating: "a", count: 36)]).status == 0)
    }

    @Test func resolvedAsEachToolDocuments() throws {
        let s = try Sandbox(backend: "plaintext")
        let gh = try s.run(["get", "gh"], env: ["GITHUB_TOKEN": "ghp_second", "GH_TOKEN": "ghp_first_one"])
        #expect(gh.stdout == "ghp_first_one\n", "\(gh)")
        let hf = "hf_" + String(repeating: "Ab1", count: 11)
        try makeFile(s.home + "/.cache/huggingface/token", hf + "\n")
        #expect(try s.run(["get", "huggingface"]).stdout == hf + "\n")
        try makeFile(s.root + "/hfhome/token", hf + "X\n")
        #expect(try s.run(["get", "huggingface"], env: ["HF_HOME": s.root + "/hfhome"]).stdout == hf + "X\n")
        let kind = try s.run(
            ["resolve", "stripe"], env: ["STRIPE_API_KEY": "sk_test_" + String(repeating: "z", count: 24)])
        #expect(kind.stdout.contains("[test secret key]"), "\(kind)")
    }

    @Test func leakCheckFindsTheirKeys() throws {
        let s = try Sandbox(backend: "plaintext")
        let directory = s.root + "/scan"
        try GitFixture.initialize(directory)
        try GitFixture.write(directory, "notes.txt", "token = \"hf_kT3vQm9LxP2wZr7NbY5cJd8HsF4gA6eUqR\"\n")
        try GitFixture.commitAll(directory, "first")
        let scan = try s.run(["leak-check", "--no-home", directory])
        #expect(scan.status == 1, "\(scan)")
        #expect(scan.stdout.contains("huggingface"), "\(scan)")
    }
}
