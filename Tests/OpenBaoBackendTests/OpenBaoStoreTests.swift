import KeywayCore
import KeywayTestSupport
import KeywayTesting
import Testing

@testable import KeywayOpenBao

/// One dev server for the tests that leave it as they found it (each uses its own prefix); tests that seal or kill
/// a server start their own.
let sharedServer = Result { try OpenBaoServer() }

func store(_ server: OpenBaoServer, prefix: String, extra: [String: String] = [:]) -> OpenBaoStore {
    var values = server.clientEnvironment
    values["KEYWAY_OPENBAO_PREFIX"] = prefix
    values["HOME"] = server.directory.path
    values.merge(extra) { $1 }
    return OpenBaoStore(environment: Environment(values))
}

@Suite struct OpenBaoConformanceTests {
    @Test func conformance() throws {
        let server = try sharedServer.get()
        let counter = Counter()
        try StoreConformance(
            makeStore: { store(server, prefix: "conformance-\(counter.next())") },
            makeBroken: {
                // A port nothing listens on: every read fails (unreachable), never "not found".
                let port = try freePort()
                return OpenBaoStore(
                    environment: Environment(["BAO_ADDR": "http://127.0.0.1:\(port)", "BAO_TOKEN": "unused-token"]))
            }
        ).run()
    }
}

@Suite struct OpenBaoLayoutTests {
    /// Names that are not path segments are encoded and stay inside `<prefix>/<app>/`: `..`, `/`, `%2e`, `.`.
    @Test func namesNeverClimbOutOfThePrefix() throws {
        let server = try sharedServer.get()
        // A mount of its own, so that nothing else writes to it meanwhile.
        try server.baoOK(["secrets", "enable", "-path=layoutkv", "kv-v2"])
        let kv = store(server, prefix: "layout/inner", extra: ["KEYWAY_OPENBAO_MOUNT": "layoutkv"])
        let names = ["..", ".", "/", "../..", "a/../../b", "%2e%2e", "%2E", "%", "x%2fy", "..%2f..", "café", "a b"]
        var ids: [CredentialID] = []
        for (index, name) in names.enumerated() {
            ids.append(CredentialID(app: name, profile: names[(index + 3) % names.count]))
            ids.append(CredentialID(app: "plain", profile: name))
        }
        for (index, id) in ids.enumerated() {
            try kv.write(Credential(id: id, secret: Secret("sk-layout-\(index)-abcdefghijklmnop")))
        }
        // Nothing was written outside layoutkv/layout/inner/: the mount holds only the folder "layout/", which holds
        // only "inner/".
        let top = try server.baoOK(["kv", "list", "-format=json", "layoutkv/"])
        #expect(top.contains("\"layout/\"") && top.filter { $0 == "," }.isEmpty, "more than layout/: \(top)")
        let middle = try server.baoOK(["kv", "list", "-format=json", "layoutkv/layout/"])
        #expect(middle.contains("\"inner/\"") && middle.filter { $0 == "," }.isEmpty, "\(middle)")
        for (index, id) in ids.enumerated() {
            #expect(try kv.read(id)?.secret.reveal() == "sk-layout-\(index)-abcdefghijklmnop", "\(id)")
        }
        #expect(try kv.list().map(\.id) == ids.sorted())
        for id in ids { #expect(try kv.delete(id)) }
        #expect(try kv.list().isEmpty)
    }

    @Test func encodingRoundTripsAndIsStrict() {
        for name in ["..", ".", "...", "/", "%", "%2e", "a/b", "café", "plain-name_1.2", "\u{1F600}", " "] {
            let segment = KVPath.encode(name)
            #expect(!segment.contains("/") && segment != "." && segment != "..")
            #expect(KVPath.decode(segment) == name)
        }
        #expect(KVPath.encode("..") == "%2E%2E")
        #expect(KVPath.encode("%2e") == "%252e")
        // Not what encode writes: lower-case hex, an encoded plain byte, a raw space, a cut escape.
        for segment in ["%2e", "%41", "a b", "%2", "%zz"] { #expect(KVPath.decode(segment) == nil, "\(segment)") }
        #expect(!KVPath.isPlainPath("a/../b") && !KVPath.isPlainPath("") && !KVPath.isPlainPath("a//b"))
        #expect(KVPath.isPlainPath("team-1/keyway.v2"))
    }

    /// account, organization, scopes and expiry live in custom_metadata; the key alone in the data.
    @Test func keyInDataDetailsInCustomMetadata() throws {
        let server = try sharedServer.get()
        let kv = store(server, prefix: "layout-metadata")
        let id = CredentialID(app: "openai", profile: "work")
        try kv.write(
            Credential(
                id: id, secret: Secret("sk-metadata-abcdefghijklmnop"), account: "me@example.com",
                organization: "Acme", scopes: ["read", "write"], expires: Day(parsing: "2030-01-31")))
        let data = try server.baoOK(["kv", "get", "-format=json", "secret/layout-metadata/openai/work"])
        #expect(data.contains("\"api_key\": \"sk-metadata-abcdefghijklmnop\""))
        let metadata = try server.baoOK(["kv", "metadata", "get", "-format=json", "secret/layout-metadata/openai/work"])
        #expect(metadata.contains("\"account\": \"me@example.com\"") && metadata.contains("\"organization\": \"Acme\""))
        #expect(metadata.contains("\"expires\": \"2030-01-31\"") && !metadata.contains("sk-metadata"))
    }

    /// The details are tagged with the key version they were written with: once the key has another version (here
    /// written by the bao CLI, as a second host whose details request crossed Keyway's would leave it), they are
    /// left out with a warning rather than shown for a key they may not belong to; storing again sets them.
    @Test func detailsOfAnotherKeyVersionAreLeftOut() throws {
        let server = try sharedServer.get()
        let warnings = WarningLog()
        var values = server.clientEnvironment
        values["KEYWAY_OPENBAO_PREFIX"] = "layout-version"
        values["HOME"] = server.directory.path
        let kv = OpenBaoStore(environment: Environment(values), warn: warnings.handler)
        let id = CredentialID(app: "openai", profile: "work")
        try kv.write(Credential(id: id, secret: Secret("sk-version-one-abcdefghijklmnop"), account: "me@example.com"))
        #expect(try kv.read(id)?.account == "me@example.com")
        #expect(warnings.messages.isEmpty, "\(warnings.messages)")
        try server.baoOK(["kv", "put", "secret/layout-version/openai/work", "api_key=sk-version-two-abcdefghijklmnop"])
        let read = try #require(try kv.read(id))
        #expect(read.secret.reveal() == "sk-version-two-abcdefghijklmnop")
        #expect(read.account == nil, "the details written with version 1 are not shown with version 2")
        #expect(
            warnings.messages.contains { $0.contains("written with version 1 of its key, which is now at version 2") },
            "\(warnings.messages)")
        #expect(!warnings.messages.joined().contains("sk-version"), "no key in the warning")
        try kv.write(Credential(id: id, secret: Secret("sk-version-three-abcdefghijklmnop"), account: "me@example.com"))
        #expect(try kv.read(id)?.account == "me@example.com")
    }

    /// logout removes every version (the metadata), not just the latest.
    @Test func deleteRemovesEveryVersion() throws {
        let server = try sharedServer.get()
        let kv = store(server, prefix: "layout-delete")
        let id = CredentialID(app: "openai")
        try kv.write(Credential(id: id, secret: Secret("sk-version-one-abcdefghijkl")))
        try kv.write(Credential(id: id, secret: Secret("sk-version-two-abcdefghijkl")))
        #expect(try server.baoOK(["kv", "metadata", "get", "secret/layout-delete/openai/default"]).contains("2"))
        #expect(try kv.delete(id))
        let after = try server.bao(["kv", "metadata", "get", "secret/layout-delete/openai/default"])
        #expect(after.status != 0)
        #expect(try kv.delete(id) == false)
    }
}

@Suite struct OpenBaoCheckAndSetTests {
    /// A write based on a version another host has replaced since is retried on the new version: both updates are
    /// versions of the entry, the later one is what is read.
    @Test func staleReadIsRetriedNotLost() throws {
        let server = try sharedServer.get()
        let first = store(server, prefix: "cas-stale")
        let second = store(server, prefix: "cas-stale")
        let id = CredentialID(app: "openai")
        try first.write(Credential(id: id, secret: Secret("sk-cas-version-one-abcdefgh")))
        #expect(try first.read(id)?.secret.reveal() == "sk-cas-version-one-abcdefgh")
        try second.write(Credential(id: id, secret: Secret("sk-cas-version-two-abcdefgh")))
        try first.write(Credential(id: id, secret: Secret("sk-cas-version-three-abcdef")))
        for (version, key) in [(1, "one-abcdefgh"), (2, "two-abcdefgh"), (3, "three-abcdef")] {
            let stored = try server.baoOK([
                "kv", "get", "-version=\(version)", "-field=api_key", "secret/cas-stale/openai/default",
            ])
            #expect(stored == "sk-cas-version-\(key)")
        }
        #expect(try second.read(id)?.secret.reveal() == "sk-cas-version-three-abcdef")
    }
}

@Suite struct OpenBaoMessageTests {
    /// What the server says is passed on with the token, a secret id and the key replaced, and control characters
    /// (a forged line, a terminal escape) flattened.
    @Test func serverWordsAreRedacted() {
        let said = KVClient.redacted(
            "token s.SECRET-TOKEN-1 was rejected for key sk-abc\n\u{1B}]0;title\u{07} done",
            ["s.SECRET-TOKEN-1", "sk-abc"])
        #expect(!said.contains("s.SECRET-TOKEN-1") && !said.contains("sk-abc") && said.contains("<redacted>"))
        #expect(!said.unicodeScalars.contains { $0.properties.generalCategory == .control })
    }

    /// A line break in the token or namespace would add a header of its own to the request: refused, not sent.
    @Test func headerValuesWithLineBreaksAreRefused() throws {
        let server = try sharedServer.get()
        for (name, value) in [
            ("BAO_TOKEN", server.rootToken + "\r\nX-Injected: 1"), ("BAO_NAMESPACE", "\r\nX-Injected: 1"),
        ] {
            let kv = store(server, prefix: "header-check", extra: [name: value])
            #expect(throws: KeywayError.self, "\(name)") { try kv.read(CredentialID(app: "a")) }
        }
    }

    @Test func settingsAreChecked() throws {
        for (name, value) in [
            ("KEYWAY_OPENBAO_MOUNT", "../sys"), ("KEYWAY_OPENBAO_PREFIX", "a/../../b"), ("KEYWAY_OPENBAO_TIMEOUT", "0"),
            ("BAO_ADDR", "ftp://example"),
        ] {
            var values = ["BAO_ADDR": "http://127.0.0.1:1", "BAO_TOKEN": "t"]
            values[name] = value
            let kv = OpenBaoStore(environment: Environment(values))
            #expect(throws: KeywayError.self, "\(name)=\(value)") { try kv.read(CredentialID(app: "a")) }
        }
        // AppRole files win over the token variables; BAO_* over VAULT_*.
        let config = OpenBaoConfiguration(
            environment: Environment([
                "VAULT_ADDR": "http://vault", "BAO_ADDR": "http://bao", "BAO_TOKEN": "t",
                "KEYWAY_OPENBAO_ROLE_ID_FILE": "/r", "KEYWAY_OPENBAO_SECRET_ID_FILE": "/s",
            ]))
        #expect(config.address == "http://bao")
        #expect(config.token == .appRole(roleIDFile: "/r", secretIDFile: "/s", mount: "approle"))
        #expect(!OpenBaoConfiguration.isConfigured(Environment(["VAULT_ADDR": "http://vault", "VAULT_TOKEN": "t"])))
        #expect(OpenBaoConfiguration.isConfigured(Environment(["KEYWAY_OPENBAO_PREFIX": "x"])))
    }
}
