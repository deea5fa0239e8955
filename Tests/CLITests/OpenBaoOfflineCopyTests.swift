import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

@Suite struct OpenBaoOfflineCopyTests {
    /// KEYWAY_OPENBAO_CACHE: what this host read is kept encrypted and used, with a warning naming its age, only while
    /// the server cannot be reached; refused past KEYWAY_OPENBAO_CACHE_MAX_AGE; never used for a refusal.
    @Test func offlineCopyOnlyWhenUnreachable() throws {
        let server = try OpenBaoServer()
        let sandbox = try openbaoSandbox(server)
        let keyFile = sandbox.root + "/cache.key"
        try writeFile(keyFile, (0..<32).map { _ in UInt8.random(in: 0...255) }, mode: 0o600)
        let cacheFile = sandbox.root + "/openbao-cache.vault"
        let cache = ["KEYWAY_OPENBAO_CACHE": cacheFile, "KEYWAY_OPENBAO_CACHE_KEY_FILE": keyFile]
        let key = "sk-openbao-offline-abcdefghijkl"
        var r = try sandbox.run(["login", "openai", "--account", "me"], env: cache, stdin: key + "\n")
        #expect(r.status == 0, "\(r)")
        r = try sandbox.run(["login", "github"], stdin: key + "2\n")
        #expect(r.status == 0, "\(r)")
        r = try sandbox.run(["get", "openai"], env: cache)
        #expect(r.status == 0 && r.stdout == key + "\n" && r.stderr.isEmpty, "\(r)")
        #expect(try permissions(cacheFile) == 0o600)
        let bytes = try #require(try readFile(cacheFile))
        #expect(
            !String(decoding: bytes, as: UTF8.self).contains("sk-openbao-offline"), "the copy holds the key in clear")
        // A refusal (a revoked token) is an error as it is: the copy is for an unreachable server only.
        r = try sandbox.run(["get", "openai"], env: cache.merging(["BAO_TOKEN": "not-a-valid-token"]) { $1 })
        #expect(r.status == 2 && r.stderr.contains("refused the token"), "\(r)")
        server.kill()
        r = try sandbox.run(["get", "openai"], env: cache)
        #expect(r.status == 0 && r.stdout == key + "\n", "\(r)")
        #expect(r.stderr.contains("Using the offline copy of openai") && r.stderr.contains("seconds ago"), "\(r)")
        r = try sandbox.run(["list", "--json"], env: cache)
        #expect(r.status == 0 && r.stdout.contains("\"me\"") && !r.stdout.contains("github"), "\(r)")
        #expect(!r.stdout.contains("keyway-offline-copy"), "the fetch time leaked into the details: \(r)")
        // Never read here: no copy, the server's error.
        r = try sandbox.run(["get", "github"], env: cache)
        #expect(r.status == 2 && r.stderr.contains("No offline copy"), "\(r)")
        // Without the setting, the copy is not used.
        r = try sandbox.run(["get", "openai"])
        #expect(r.status == 2 && r.stderr.contains("Cannot connect"), "\(r)")
        // Past the maximum age: refused, saying why.
        try waitForTheNextSecond()
        try waitForTheNextSecond()
        r = try sandbox.run(["get", "openai"], env: cache.merging(["KEYWAY_OPENBAO_CACHE_MAX_AGE": "1"]) { $1 })
        #expect(r.status == 2 && r.stderr.contains("older than KEYWAY_OPENBAO_CACHE_MAX_AGE"), "\(r)")
        // The cache without its key file: an error before anything.
        r = try sandbox.run(["get", "openai"], env: ["KEYWAY_OPENBAO_CACHE": cacheFile])
        #expect(r.status == 2 && r.stderr.contains("KEYWAY_OPENBAO_CACHE_KEY_FILE"), "\(r)")
    }
}
