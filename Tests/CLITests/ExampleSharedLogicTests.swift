import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

/// Examples/ReflexExample's login, import and status run the library's code that keyway's own commands run
/// (`CredentialStore.logIn`, `ToolFileKey`, `StatusReport`), so both behave the same.
@Suite struct ExampleSharedLogicTests {
    func example(_ s: Sandbox, _ arguments: [String], env: [String: String] = [:], stdin: String? = nil) throws
        -> RunResult
    {
        try s.run(arguments, env: env, stdin: stdin, binary: exampleBinary)
    }

    @Test func loginWithTheSameKeyKeepsWhatKeywayRecorded() throws {
        let s = try Sandbox(backend: "plaintext")
        let login = try s.run([
            "login", "reflex-example", "--api-key", "rfx_example000011112222", "--account", "ci@acme.io",
        ])
        #expect(login.status == 0, "\(login)")
        #expect(try example(s, ["login"], stdin: "rfx_example000011112222\n").status == 0)
        let whoami = try s.run(["whoami", "reflex-example"])
        #expect(whoami.stdout.hasPrefix("Account:      ci@acme.io\n"), "\(whoami)")
        // Another key starts afresh, as with keyway login.
        #expect(try example(s, ["login", "--api-key", "rfx_example999988887777"]).status == 0)
        #expect(try s.run(["whoami", "reflex-example"]).stdout.hasPrefix("No account or organization was recorded"))
    }

    @Test func importCopiesTheFileIntoTheStoreAsKeywayImportDoes() throws {
        let s = try Sandbox(backend: "plaintext")
        let file = s.home + "/.config/reflex-example/credentials.json"
        try makeFile(file, "{\"api_key\": \"rfx_fromfile000033334444\", \"account\": \"ci@acme.io\"}")
        let imported = try example(s, ["import"], env: ["REFLEX_EXAMPLE_API_KEY": "rfx_fromenvironment99"])
        #expect(imported.status == 0, "\(imported)")
        #expect(imported.stdout == "Imported rfx_...4444 from \(file) into the plaintext store.\n")
        let list = try s.run(["list", "--json"])
        #expect(list.stdout.contains("\"account\": \"ci@acme.io\""), "\(list)")
        #expect(list.stdout.contains("\"masked\": \"rfx_...4444\""), "\(list)")
        // A different key in the store is never replaced.
        try makeFile(file, "{\"api_key\": \"rfx_otherfilekey55556666\"}")
        let conflict = try example(s, ["import"])
        #expect(conflict.status == 1, "\(conflict)")
        #expect(try s.run(["list", "--json"]).stdout.contains("\"masked\": \"rfx_...4444\""))
    }

    @Test func statusShowsTheKeyInUseAndTheShadowedCopy() throws {
        let s = try Sandbox(backend: "plaintext")
        #expect(try example(s, ["login", "--api-key", "rfx_example000011112222"]).status == 0)
        let status = try example(s, ["status"], env: ["REFLEX_EXAMPLE_API_KEY": "rfx_fromenvironment99"])
        #expect(status.status == 0, "\(status)")
        #expect(
            status.stdout == "rfx_...nt99 from the environment variable REFLEX_EXAMPLE_API_KEY (in use)\n"
                + "rfx_...2222 from the plaintext store \(s.credentialsFile)\n")
        #expect(
            status.stderr.contains(
                "Warning: Not in use: the environment variable REFLEX_EXAMPLE_API_KEY wins over this key."))
    }
}
