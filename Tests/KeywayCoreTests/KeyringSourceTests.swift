import KeywayCore
import Testing

@testable import KeywayCore

/// `keyring` sources (gh's `gh:HOST` items): the spec format, and the engine with a reader of its own (the Secret
/// Service one is the umbrella's, tested end to end in GitHubCLIKeyringTests).
@Suite struct KeyringSourceTests {
    /// A keyring of fixed items, recording the searches.
    final class FakeKeyring: ForeignKeyringReader, @unchecked Sendable {
        let items: [([String: String], ForeignKeyringSecret)]
        let unavailable: String?
        init(_ items: [([String: String], ForeignKeyringSecret)], unavailable: String? = nil) {
            self.items = items
            self.unavailable = unavailable
        }
        func items(matching attributes: [String: String]) throws(KeywayError) -> ForeignKeyringLookup {
            if let unavailable { return .unavailable(unavailable) }
            return .items(
                items.filter { item in attributes.allSatisfy { item.0[$0.key] == $0.value } }.map(\.1))
        }
    }

    static func item(_ service: String, _ user: String, _ secret: String?, modified: Int64 = 1)
        -> ([String: String], ForeignKeyringSecret)
    {
        (
            ["service": service, "username": user],
            ForeignKeyringSecret(
                path: "/item/\(service)/\(user)/\(modified)", modified: modified, secret: secret.map(Secret.init))
        )
    }

    func engine(_ keyring: FakeKeyring?, env: [String: String] = [:]) -> ResolutionEngine {
        ResolutionEngine(
            spec: AppCatalog.builtIn.first { $0.name == "gh" }!,
            environment: Environment(env.merging(["HOME": "/nonexistent-keyway-home"]) { $1 }),
            store: ResolverTests.MemoryStore(), workingDirectory: "/", foreignKeyring: keyring)
    }

    @Test func activeItemForTheDefaultProfileAccountsItemForItsProfile() throws {
        let keyring = FakeKeyring([
            Self.item("gh:github.com", "", "gho_active"), Self.item("gh:github.com", "octocat", "gho_octocat"),
            Self.item("gh:ghe.example.com", "", "gho_ghe"),
        ])
        let gh = engine(keyring)
        let found = try gh.resolve()
        #expect(found.key?.secret.reveal() == "gho_active")
        #expect(found.key?.source == .keyring(#"service="gh:github.com" username="""#))
        #expect(found.key?.source.description == #"keyring item service="gh:github.com" username="""#)
        #expect(try gh.resolve(profile: "octocat").key?.secret.reveal() == "gho_octocat")
        #expect(try gh.resolve(profile: "hubot").key == nil)
        #expect(
            try engine(keyring, env: ["GH_HOST": "https://GHE.example.com/"]).resolve().key?.secret.reveal()
                == "gho_ghe")
        #expect(try engine(keyring, env: ["GH_TOKEN": "ghp_env"]).resolve().key?.secret.reveal() == "ghp_env")
    }

    @Test func noReaderOrNoKeyringIsSkippedWithWhy() throws {
        for (keyring, why) in [
            (nil, "not the Secret Service"), (FakeKeyring([], unavailable: "no keyring here"), "no keyring here"),
        ] {
            let resolution = try engine(keyring).resolve(explain: true)
            let layers = resolution.layers.filter { $0.kind == .keyring }
            #expect(layers.count == 2)
            #expect(layers.allSatisfy { $0.status == .skipped }, "\(layers)")
            #expect(layers.last?.detail.contains(why) == true, "\(layers)")
        }
    }

    @Test func newestOfSeveralEmptyAndUnusableSecrets() throws {
        let several = FakeKeyring([
            Self.item("gh:github.com", "", "gho_old", modified: 5),
            Self.item("gh:github.com", "", "gho_new", modified: 9),
        ])
        let resolution = try engine(several).resolve(explain: true)
        #expect(resolution.key?.secret.reveal() == "gho_new")
        #expect(resolution.layers.contains { $0.detail.contains("newest of 2") })
        let empty = try engine(FakeKeyring([Self.item("gh:github.com", "", "")])).resolve(explain: true)
        #expect(empty.key == nil && empty.layers.contains { $0.kind == .keyring && $0.status == .empty })
        for secret in [nil, "gho_with space\nline"] {
            let bad = try engine(FakeKeyring([Self.item("gh:github.com", "", secret)])).resolve(explain: true)
            #expect(bad.error?.code == .malformedFile, "\(String(describing: bad.error))")
            #expect(bad.error?.message.contains("gho_with") == false)
        }
    }

    func decode(_ source: String) throws(KeywayError) -> AppSpec {
        try AppSpecDecoder.decode(
            Array("{\"name\": \"tool\", \"env\": [], \"sources\": [\(source), {\"type\": \"store\"}]}".utf8),
            source: "tool.json")
    }

    @Test(arguments: [
        (#"{"type": "keyring"}"#, "needs attributes, profile_attributes or both"),
        (#"{"type": "keyring", "attributes": {}}"#, "must be a non-empty object"),
        (#"{"type": "keyring", "attributes": {"a": 1}}"#, "must be a string"),
        (#"{"type": "keyring", "attributes": {"a": "{profile}"}}"#, "must not name {profile}"),
        (#"{"type": "keyring", "profile_attributes": {"a": "x"}}"#, "must name {profile}"),
        (#"{"type": "keyring", "attributes": {"a": "{host}"}}"#, "default_host"),
        (#"{"type": "keyring", "attributes": {"a": "x"}, "path": "~/x"}"#, "is not a field of a keyring source"),
        (#"{"type": "keyring", "attributes": {"a": "x", "a": "y"}}"#, "more than once"),
    ])
    func refused(source: String, problem: String) {
        do throws(KeywayError) {
            _ = try decode(source)
            Issue.record("accepted: \(source)")
        } catch {
            #expect(error.message.contains(problem), "\(error.message)")
        }
    }

    @Test func decodesAndRoundTrips() throws {
        let spec = try decode(
            #"{"type": "keyring", "attributes": {"service": "t:{host}"}, "profile_attributes": {"service": "t:{host}", "user": "{profile}"}, "host_env": ["T_HOST"], "default_host": "t.example"}"#
        )
        #expect(
            spec.sources.first
                == .keyring(
                    AppSpec.KeyringItem(
                        attributes: ["service": "t:{host}"],
                        profileAttributes: ["service": "t:{host}", "user": "{profile}"],
                        hostVariables: ["T_HOST"], defaultHost: "t.example")))
        #expect(try AppSpecDecoder.decode(Array(spec.json().serialized().utf8), source: "again") == spec)
    }
}
