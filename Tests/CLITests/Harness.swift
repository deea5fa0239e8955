import Foundation
import KeywayCore
import KeywayTesting
import Testing

/// What one run of the `keyway` binary produced.
struct RunResult: CustomStringConvertible {
    let status: Int32
    let stdout: String
    let stderr: String

    var description: String { "exit \(status)\n--- stdout\n\(stdout)--- stderr\n\(stderr)" }
}

/// The built `keyway` binary: next to the test bundle in the build directory.
let keywayBinary: String = {
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var directory = bundle.deletingLastPathComponent()
    // On Linux the tests run from `<build>/keywayPackageTests.xctest`; the binary is `<build>/keyway`.
    for _ in 0..<3 {
        let candidate = directory.appendingPathComponent("keyway").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    return bundle.deletingLastPathComponent().appendingPathComponent("keyway").path
}()

/// A private HOME and config directory for one test, with a clean environment.
final class Sandbox: @unchecked Sendable {
    let root: String
    let home: String
    let configDirectory: String
    /// Variables every run gets; tests add their own per run.
    var environment: [String: String]

    /// With `backend`, every run gets `KEYWAY_BACKEND` set to it (tests of one backend's behaviour).
    init(backend: String? = nil) throws {
        let directory = try TemporaryDirectory(prefix: "keyway-cli")
        holder = directory
        root = directory.path
        home = root + "/home"
        configDirectory = root + "/config"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        environment = [
            "HOME": home,
            "KEYWAY_CONFIG_DIR": configDirectory,
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "LANG": "C.UTF-8",
        ]
        if let backend { environment["KEYWAY_BACKEND"] = backend }
    }

    private let holder: TemporaryDirectory

    var credentialsFile: String { configDirectory + "/credentials.json" }

    /// Runs `keyway args...` with the sandbox environment plus `env`, `stdin` piped in (empty when nil), and `umask`.
    @discardableResult
    func run(
        _ arguments: [String], env: [String: String] = [:], stdin: String? = nil, umask mask: mode_t? = nil,
        removing: [String] = []
    ) throws -> RunResult {
        var environment = self.environment.merging(env) { $1 }
        for name in removing { environment[name] = nil }
        return try runProcess(keywayBinary, arguments, environment: environment, stdin: stdin, umask: mask)
    }
}

/// Runs an executable and collects its output. With `umask`, the child runs under `/bin/sh -c 'umask M; exec ...'`.
func runProcess(
    _ executable: String, _ arguments: [String], environment: [String: String], stdin: String? = nil,
    umask mask: mode_t? = nil
) throws -> RunResult {
    let process = Process()
    if let mask {
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "umask \(String(mask, radix: 8)); exec \"$@\"", "sh", executable] + arguments
    } else {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
    }
    process.environment = environment
    let out = Pipe(), err = Pipe(), input = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try input.fileHandleForWriting.close()
    // Read both pipes concurrently so neither fills up.
    let errData = LockedData()
    let reader = Thread { errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
    reader.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while !errData.isSet { usleep(1000) }
    return RunResult(
        status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData.value, as: UTF8.self))
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    func set(_ value: Data) { lock.withLock { data = value } }
    var isSet: Bool { lock.withLock { data != nil } }
    var value: Data { lock.withLock { data ?? Data() } }
}
