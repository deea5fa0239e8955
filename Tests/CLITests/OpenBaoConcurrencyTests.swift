import Foundation
import KeywayCore
import KeywayTestSupport
import Synchronization
import Testing

/// Several "machines" (processes with their own HOME) writing to one OpenBao server at once.
@Suite struct OpenBaoConcurrencyTests {
    /// 8 processes, each with its own HOME, write 25 profiles each at once: all 200 are there, each with its key.
    @Test func eightMachinesTwentyFiveProfilesEach() throws {
        let server = try openbaoServer.get()
        let prefix = "fleet-\(getpid())"
        let sandboxes = try (0..<8).map { _ in try openbaoSandbox(server) }
        for sandbox in sandboxes { sandbox.environment["KEYWAY_OPENBAO_PREFIX"] = prefix }
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { machine in
            for index in 0..<25 {
                let key = "sk-fleet-\(machine)-\(index)-abcdefghijklmnop"
                do {
                    let r = try sandboxes[machine].run(
                        ["login", "fleet", "--profile", "m\(machine)-p\(index)"], stdin: key + "\n")
                    if r.status != 0 { failures.withLock { $0.append("\(r)") } }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        let list = try sandboxes[0].run(["list", "--json"])
        #expect(list.status == 0, "\(list)")
        let root = try JSON.parse(list.stdout)
        guard case .array(let credentials)? = root["credentials"] else {
            Issue.record("no credentials array: \(list.stdout.prefix(500))")
            return
        }
        #expect(credentials.count == 200, "\(credentials.count) listed")
        for machine in 0..<8 {
            for index in 0..<25 {
                let r = try sandboxes[(machine + 1) % 8].run(["get", "fleet", "--profile", "m\(machine)-p\(index)"])
                #expect(r.stdout == "sk-fleet-\(machine)-\(index)-abcdefghijklmnop\n", "\(r)")
            }
        }
    }

    /// 8 processes update one credential at once: each either stored its key (a version of the entry holds it, and
    /// the final value is the latest of them) or was told of a conflict; none is silently lost.
    @Test func eightConcurrentUpdatesOfOneCredential() throws {
        let server = try openbaoServer.get()
        let sandboxes = try (0..<8).map { _ in try openbaoSandbox(server) }
        let prefix = sandboxes[0].environment["KEYWAY_OPENBAO_PREFIX"]!
        for sandbox in sandboxes { sandbox.environment["KEYWAY_OPENBAO_PREFIX"] = prefix }
        let first = try sandboxes[0].run(["login", "shared"], stdin: "sk-shared-initial-abcdefghijklmnop\n")
        #expect(first.status == 0, "\(first)")
        let outcomes = Mutex<[Int: RunResult]>([:])
        DispatchQueue.concurrentPerform(iterations: 8) { writer in
            let result = try? sandboxes[writer].run(
                ["login", "shared"], stdin: "sk-shared-writer-\(writer)-abcdefgh\n")
            if let result { outcomes.withLock { $0[writer] = result } }
        }
        let results = outcomes.withLock { $0 }
        #expect(results.count == 8)
        var stored: [Int] = []
        for (writer, result) in results {
            if result.status == 0 {
                stored.append(writer)
            } else {
                #expect(result.status == 2 && result.stderr.contains("Conflict"), "writer \(writer): \(result)")
            }
        }
        // Every version of the entry: the initial one, then one per stored write.
        let path = "secret/\(prefix)/shared/default"
        let metadata = try JSON.parse(try server.baoOK(["kv", "metadata", "get", "-format=json", path]))
        let versions = metadata["data"]?["current_version"]?.intValue ?? 0
        #expect(versions == 1 + stored.count, "versions \(versions), stored by \(stored)")
        var history: [String] = []
        for version in 1...max(1, versions) {
            history.append(
                try server.baoOK(["kv", "get", "-version=\(version)", "-field=api_key", path])
                    .trimmingCharacters(in: .whitespacesAndNewlines))
        }
        for writer in stored {
            #expect(history.contains("sk-shared-writer-\(writer)-abcdefgh"), "writer \(writer)'s update was lost")
        }
        let final = try sandboxes[0].run(["get", "shared"])
        #expect(final.stdout == (history.last ?? "") + "\n", "\(final) vs \(history)")
    }
}
