import Foundation
import Glibc

/// A 3-node OpenBao cluster with integrated (Raft) storage on loopback, initialised (one unseal key share), unsealed,
/// every node a voter, a KV v2 engine at `secret/`. Stopped when released. Needs the same `bao` as `OpenBaoServer`.
public final class OpenBaoCluster: @unchecked Sendable {
    public struct Node: Sendable {
        public let apiPort: Int
        public let clusterPort: Int
        public var address: String { "http://127.0.0.1:\(apiPort)" }
    }

    public let nodes: [Node]
    public private(set) var rootToken = ""
    private var unsealKey = ""
    private var processes: [WatchedProcess] = []
    private let directory: TemporaryDirectory

    public init() throws {
        let binary = OpenBaoServer.baoBinary
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw OpenBaoServer.Failure("No bao binary at \(binary): run scripts/test or set KEYWAY_TEST_BAO.")
        }
        directory = try TemporaryDirectory(prefix: "keyway-raft")
        var nodes: [Node] = []
        for _ in 0..<3 { nodes.append(Node(apiPort: try freePort(), clusterPort: try freePort())) }
        self.nodes = nodes
        for (index, node) in nodes.enumerated() {
            let path = directory.path + "/n\(index)"
            try FileManager.default.createDirectory(atPath: path + "/data", withIntermediateDirectories: true)
            let join = index == 0 ? "" : "retry_join { leader_api_addr = \"\(nodes[0].address)\" }"
            let config = """
                storage "raft" {
                  path = "\(path)/data"
                  node_id = "n\(index)"
                  performance_multiplier = 1
                  \(join)
                }
                listener "tcp" {
                  address = "127.0.0.1:\(node.apiPort)"
                  cluster_address = "127.0.0.1:\(node.clusterPort)"
                  tls_disable = true
                }
                api_addr = "\(node.address)"
                cluster_addr = "https://127.0.0.1:\(node.clusterPort)"
                disable_mlock = true
                """
            try config.write(toFile: path + "/config.hcl", atomically: false, encoding: .utf8)
            FileManager.default.createFile(atPath: path + "/log", contents: nil)
            processes.append(
                try WatchedProcess(
                    binary, ["server", "-config=\(path)/config.hcl"],
                    environment: ["PATH": "/usr/bin:/bin", "HOME": directory.path], log: path + "/log"))
        }
        do {
            try setUp()
        } catch {
            stop()
            throw OpenBaoServer.Failure("\(error)\n" + logs)
        }
    }

    private func setUp() throws {
        for node in nodes {
            try waitUntil("node \(node.apiPort) to listen", timeout: 60) { canConnect(port: node.apiPort) }
        }
        let initialized = try bao(0, ["operator", "init", "-key-shares=1", "-key-threshold=1", "-format=json"])
        guard initialized.status == 0 else { throw OpenBaoServer.Failure("operator init: \(initialized)") }
        let json = try JSONSerialization.jsonObject(with: Data(initialized.stdout.utf8)) as? [String: Any]
        guard let key = (json?["unseal_keys_b64"] as? [String])?.first, let token = json?["root_token"] as? String
        else {
            throw OpenBaoServer.Failure("operator init gave no key: \(initialized.stdout)")
        }
        unsealKey = key
        rootToken = token
        try unseal(0)
        try waitUntil("node 0 to become active", timeout: 60, interval: 0.1) { try self.activeIndex() == 0 }
        _ = try bao(0, ["operator", "raft", "autopilot", "set-config", "-server-stabilization-time=1s"])
        try unseal(1)
        try unseal(2)
        try waitUntil("3 voters", timeout: 90, interval: 0.25) {
            let peers = try self.bao(0, ["operator", "raft", "list-peers", "-format=json"]).stdout
            return peers.components(separatedBy: "\"voter\": true").count - 1 == 3
        }
        let enabled = try bao(0, ["secrets", "enable", "-path=secret", "kv-v2"])
        guard enabled.status == 0 else { throw OpenBaoServer.Failure("secrets enable: \(enabled)") }
    }

    /// Unseals node `index` (a joining node takes the key once it has contacted the leader: retried).
    private func unseal(_ index: Int) throws {
        try waitUntil("node \(index) to be unsealed", timeout: 90, interval: 0.25) {
            _ = try self.bao(index, ["operator", "unseal", self.unsealKey])
            return try self.bao(index, ["status"]).status == 0
        }
    }

    /// Runs `bao arguments` against node `index` as root.
    @discardableResult
    public func bao(_ index: Int, _ arguments: [String]) throws -> CapturedRun {
        try captureOutput(
            OpenBaoServer.baoBinary, arguments,
            environment: [
                "PATH": "/usr/bin:/bin", "HOME": directory.path, "BAO_ADDR": nodes[index].address,
                "BAO_TOKEN": rootToken,
            ])
    }

    /// The node that says it is active (of those still running), if any.
    public func activeIndex() throws -> Int? {
        for index in nodes.indices where processes[index].isRunning {
            let status = try bao(index, ["status", "-format=json"])
            if status.stdout.contains("\"is_self\": true") { return index }
        }
        return nil
    }

    /// Kills node `index` (SIGKILL: a crash) and waits for it.
    public func kill(_ index: Int) { processes[index].kill() }

    public func stop() {
        for process in processes { process.stop() }
    }

    deinit { stop() }

    /// Every node's log, for a failure message.
    public var logs: String {
        (0..<3).map { index in
            "--- node \(index)\n"
                + ((try? String(contentsOfFile: directory.path + "/n\(index)/log", encoding: .utf8)) ?? "")
                .split(separator: "\n").suffix(15).joined(separator: "\n")
        }.joined(separator: "\n")
    }
}
