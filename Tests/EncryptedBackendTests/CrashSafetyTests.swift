import KeywayCore
import KeywayTestSupport
import Testing

@testable import KeywayEncrypted

#if canImport(Glibc)
import Glibc
#endif

/// The `keyway` executable built next to the test bundle (`<build>/keyway`).
let keywayExecutable: String = {
    let bundle = (try? Sys.realpath(CommandLine.arguments[0])) ?? CommandLine.arguments[0]
    var directory = ProtectedFile.directoryName(bundle)
    for _ in 0..<3 {
        if access(directory + "/keyway", X_OK) == 0 { return directory + "/keyway" }
        directory = ProtectedFile.directoryName(directory)
    }
    return ProtectedFile.directoryName(bundle) + "/keyway"
}()

/// Starts `executable` with exactly `environment`, standard streams on /dev/null; returns its pid.
func spawn(_ executable: String, _ arguments: [String], environment: [String: String]) throws -> pid_t {
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { for pointer in argv + envp { free(pointer) } }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    for fd in Int32(0)...2 { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
    var pid: pid_t = 0
    let status = posix_spawn(&pid, executable, &actions, nil, argv, envp)
    guard status == 0 else { throw Errno(status) }
    return pid
}

func monotonicMicroseconds() -> Int {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return now.tv_sec * 1_000_000 + now.tv_nsec / 1000
}

@Suite struct CrashSafetyTests {
    /// `keyway login` rewrites a 200-credential vault again and again and is killed with SIGKILL at random moments of
    /// its run; after every kill the vault must open, with either the previous value or the one being written, and
    /// all the other credentials intact.
    @Test func sigkillDuringSavesLeavesOldOrNewVault() throws {
        let directory = try TemporaryDirectory()
        let keyFile = directory.path + "/vault.key"
        let vault = directory.path + "/config/credentials.vault"
        try writeFile(keyFile, testKey, mode: 0o600)
        let access = unlock(["KEYWAY_VAULT_KEY_FILE": keyFile])
        let store = EncryptedStore(path: vault, unlock: access)
        try store.modifyDocument { document throws(KeywayError) in
            for i in 0..<200 { document.upsert(sampleCredential("filler-\(i)", key: "filler-secret-\(i)-0123456789")) }
            document.upsert(sampleCredential("crashapp", key: "value-start"))
            return true
        }
        let environment = [
            "HOME": directory.path, "KEYWAY_CONFIG_DIR": directory.path + "/config", "KEYWAY_BACKEND": "encrypted",
            "KEYWAY_VAULT_KEY_FILE": keyFile, "PATH": "/usr/bin:/bin",
        ]
        func login(_ value: String) throws -> pid_t {
            try spawn(keywayExecutable, ["login", "crashapp", "--api-key", value], environment: environment)
        }
        // How long one uncontended run takes (the fastest of three), to spread the kills over it.
        var runtime = Int.max
        for _ in 0..<3 {
            let start = monotonicMicroseconds()
            var status: Int32 = 0
            waitpid(try login("value-timing"), &status, 0)
            runtime = min(runtime, monotonicMicroseconds() - start)
            try #require(status == 0, "keyway login runs (\(keywayExecutable))")
        }

        var current = "value-timing"
        var kills = 0
        var completed = 0
        var generator = SystemRandomNumberGenerator()
        let deadline = monotonicMicroseconds() + 50_000_000
        var iteration = 0
        while kills < 250, monotonicMicroseconds() < deadline {
            iteration += 1
            let next = "value-\(iteration)"
            let pid = try login(next)
            // Mostly in the later part of the run, where the save happens; sometimes anywhere.
            let low = Bool.random(using: &generator) ? 0 : runtime / 2
            usleep(UInt32(Int.random(in: low...(runtime * 11 / 10), using: &generator)))
            kill(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            let signaled = status & 0x7f != 0 && status & 0x7f != 0x7f
            if signaled && status & 0x7f == SIGKILL {
                kills += 1
            } else {
                #expect(status == 0, "an unkilled login succeeds (status \(status))")
                completed += 1
            }
            let document = try EncryptedStore(path: vault, unlock: access).loadDocument()
            let value = document.credential(CredentialID(app: "crashapp"))?.secret.reveal()
            #expect(value == current || value == next, "after iteration \(iteration): old or new value, got \(value ?? "nil")")
            #expect(document.credentials.count == 201, "no credential lost")
            if let value { current = value }
            if value != current && value != next { break }
        }
        #expect(kills >= 200, "\(kills) SIGKILLs landed (\(completed) saves completed) in \(iteration) runs")
        // Temporary files left by writers killed between creating the new file and renaming it: proof that kills
        // landed in the middle of writing, not only before or after.
        var midWrite = 0
        if let dir = opendir(directory.path + "/config") {
            while let entry = readdir(dir) {
                let name = withUnsafePointer(to: entry.pointee.d_name) {
                    $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
                }
                if name.hasPrefix(".credentials.vault.tmp-") { midWrite += 1 }
            }
            closedir(dir)
        }
        #expect(midWrite > 0, "some kills landed while the new file was being written")
        print(
            "crash safety: \(kills) kills (\(midWrite) mid-write), \(completed) completed saves, \(iteration) runs, "
                + "one save ~\(runtime) µs")
    }
}
