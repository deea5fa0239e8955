import Foundation
import Glibc
import KeywayTestSupport
import Testing

/// Issue 11, defect 7: under `--backend auto`, a session bus that is named but cannot be reached (a stale socket left
/// by a dead session: connection refused; or no socket at the address) is passed over with a warning, not silently.
@Suite struct DeadBusUnderAutoTests {
    /// A Unix socket that was bound and closed: connecting to it is refused.
    static func deadSocket(in directory: String) throws -> String {
        let path = directory + "/bus"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        close(fd)
        try #require(bound == 0, "bind \(path)")
        return path
    }

    @Test(arguments: ["refused", "missing"])
    func deadBusIsPassedOverWithAWarning(_ kind: String) throws {
        let sandbox = try Sandbox()
        let directory = sandbox.root
        let socketPath = kind == "refused" ? try Self.deadSocket(in: directory) : directory + "/no-such-bus"
        let env = ["DBUS_SESSION_BUS_ADDRESS": "unix:path=" + socketPath]
        let stored = try sandbox.run(
            ["login", "reflex", "--api-key", "rfx_deadbus_0123456789"],
            env: env.merging(["KEYWAY_BACKEND": "plaintext"]) { $1 })
        try #require(stored.status == 0, "\(stored)")

        for arguments in [["get", "reflex"], ["list"], ["status", "reflex"]] {
            let result = try sandbox.run(arguments, env: env)
            #expect(result.status == 0, "\(arguments): \(result)")
            #expect(result.stderr.contains("The keyring was passed over"), "\(arguments): \(result)")
            #expect(result.stderr.contains(socketPath), "names the bus: \(arguments): \(result)")
            #expect(result.stderr.components(separatedBy: "passed over").count == 2, "once: \(arguments): \(result)")
            #expect(!result.stderr.contains("rfx_deadbus_0123456789"), "\(result)")
        }
        let get = try sandbox.run(["get", "reflex"], env: env)
        #expect(get.stdout == "rfx_deadbus_0123456789\n", "\(get)")

        // A write that lands in the plaintext file says so in its own warning, which names the bus; the passed-over
        // warning (from login's read of the current key) comes at most once.
        let login = try sandbox.run(["login", "reflex", "--api-key", "rfx_deadbus_9876543210"], env: env)
        #expect(login.status == 0, "\(login)")
        #expect(login.stderr.contains("UNENCRYPTED") && login.stderr.contains(socketPath), "\(login)")
        #expect(login.stderr.components(separatedBy: "passed over").count <= 2, "\(login)")
    }

    /// No bus named at all (a server): nothing to warn about.
    @Test func noBusNamedIsNoNews() throws {
        let sandbox = try Sandbox()
        let stored = try sandbox.run(
            ["login", "reflex", "--api-key", "rfx_nobus_0123456789"], env: ["KEYWAY_BACKEND": "plaintext"],
            removing: ["DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"])
        try #require(stored.status == 0, "\(stored)")
        let get = try sandbox.run(["get", "reflex"], removing: ["DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"])
        #expect(get.status == 0 && get.stdout == "rfx_nobus_0123456789\n", "\(get)")
        #expect(!get.stderr.contains("passed over"), "\(get)")
    }
}
