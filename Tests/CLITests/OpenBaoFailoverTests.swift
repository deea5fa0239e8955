import Foundation
import KeywayCore
import KeywayTestSupport
import Testing

@Suite struct OpenBaoFailoverTests {
    /// Pointed at a standby of a 3-node Raft cluster, Keyway goes on working when the active node is killed: `get`
    /// succeeds within KEYWAY_OPENBAO_TIMEOUT once the others have elected a new active node.
    @Test func getSurvivesTheActiveNodeBeingKilled() throws {
        let cluster = try OpenBaoCluster()
        let active = try #require(try cluster.activeIndex())
        let standby = (active + 1) % 3
        let sandbox = try Sandbox(backend: "openbao")
        sandbox.environment["BAO_ADDR"] = cluster.nodes[standby].address
        sandbox.environment["BAO_TOKEN"] = cluster.rootToken
        sandbox.environment["KEYWAY_OPENBAO_TIMEOUT"] = "15"
        let key = "sk-openbao-failover-abcdefghijk"
        // Through the standby (forwarded to the active node).
        var r = try sandbox.run(["login", "openai"], stdin: key + "\n")
        #expect(r.status == 0, "\(r)")
        r = try sandbox.run(["get", "openai"])
        #expect(r.status == 0 && r.stdout == key + "\n", "\(r)")
        cluster.kill(active)
        let start = Date()
        r = try sandbox.run(["get", "openai"])
        let elapsed = Date().timeIntervalSince(start)
        #expect(r.status == 0 && r.stdout == key + "\n", "\(r)\n\(cluster.logs)")
        #expect(elapsed < 15, "took \(elapsed) s")
        // And writes, through whichever node is active now.
        r = try sandbox.run(["login", "openai", "--profile", "after"], stdin: key + "2\n")
        #expect(r.status == 0, "\(r)")
        let third = 3 - active - standby
        r = try sandbox.run(["get", "openai", "--profile", "after"], env: ["BAO_ADDR": cluster.nodes[third].address])
        #expect(r.status == 0 && r.stdout == key + "2\n", "\(r)")
        // Kill the new active node too: the last one is a standby without a quorum, so no active node ever comes.
        // A write through it is a distinct error, within the timeout, never "not found" (an OpenBao 2.x standby may
        // still serve reads from its own copy).
        let second = try #require(try cluster.activeIndex())
        cluster.kill(second)
        let survivor = [0, 1, 2].first { $0 != active && $0 != second }!
        let lonely = Date()
        r = try sandbox.run(
            ["login", "openai", "--profile", "lonely"],
            env: ["BAO_ADDR": cluster.nodes[survivor].address, "KEYWAY_OPENBAO_TIMEOUT": "3"], stdin: key + "3\n")
        let waited = Date().timeIntervalSince(lonely)
        #expect(r.status == 2 && r.stderr.contains("standby node"), "\(r)")
        #expect(waited < 8, "took \(waited) s")
    }
}
