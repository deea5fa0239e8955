import Foundation
import KeywayCore
import KeywayTestSupport
import Synchronization
import Testing

/// What one run of the `keyway` binary produced.
typealias RunResult = CapturedRun

/// The built `keyway` binary: next to the test bundle in the build directory.
let keywayBinary: String = builtBinary("keyway")

/// The built Reflex-style example (Examples/ReflexExample).
let exampleBinary: String = builtBinary("ReflexExample")

func builtBinary(_ name: String) -> String {
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var directory = bundle.deletingLastPathComponent()
    // On Linux the tests run from `<build>/keywayPackageTests.xctest`; the binary is `<build>/keyway`.
    for _ in 0..<3 {
        let candidate = directory.appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    return bundle.deletingLastPathComponent().appendingPathComponent(name).path
}

/// A private HOME and config directory for one test, with a clean environment.
final class Sandbox: Sendable {
    let root: String
    let home: String
    let configDirectory: String
    /// Variables every run gets; tests add their own per run.
    var environment: [String: String] {
        get { variables.withLock { $0 } }
        set { variables.withLock { $0 = newValue } }
    }
    private let variables: Mutex<[String: String]>

    /// With `backend`, every run gets `KEYWAY_BACKEND` set to it (tests of one backend's behaviour).
    init(backend: String? = nil) throws {
        let directory = try TemporaryDirectory(prefix: "keyway-cli")
        holder = directory
        root = directory.path
        home = root + "/home"
        configDirectory = root + "/config"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        var environment = [
            "HOME": home,
            "KEYWAY_CONFIG_DIR": configDirectory,
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "LANG": "C.UTF-8",
        ]
        if let backend { environment["KEYWAY_BACKEND"] = backend }
        variables = Mutex(environment)
    }

    private let holder: TemporaryDirectory

    var credentialsFile: String { configDirectory + "/credentials.json" }

    /// Runs `keyway args...` with the sandbox environment plus `env`, `stdin` piped in (empty when nil), and `umask`.
    @discardableResult
    func run(
        _ arguments: [String], env: [String: String] = [:], stdin: String? = nil, umask mask: mode_t? = nil,
        removing: [String] = [], directory: String? = nil, binary: String = keywayBinary
    ) throws -> RunResult {
        var environment = self.environment.merging(env) { $1 }
        for name in removing { environment[name] = nil }
        return try runProcess(
            binary, arguments, environment: environment, stdin: stdin, umask: mask, directory: directory)
    }
}

/// Runs an executable and collects its output. With `umask`, the child runs under `/bin/sh -c 'umask M; exec ...'`.
func runProcess(
    _ executable: String, _ arguments: [String], environment: [String: String], stdin: String? = nil,
    umask mask: mode_t? = nil, directory: String? = nil
) throws -> RunResult {
    guard let mask else {
        return try captureOutput(executable, arguments, environment: environment, stdin: stdin, directory: directory)
    }
    return try captureOutput(
        "/bin/sh", ["-c", "umask \(String(mask, radix: 8)); exec \"$@\"", "sh", executable] + arguments,
        environment: environment, stdin: stdin, directory: directory)
}

/// Runs git in `directory` with a fixed identity and no user or system configuration.
@discardableResult
func git(_ arguments: [String], in directory: String) throws -> RunResult {
    let result = try runProcess(
        "/usr/bin/git", arguments,
        environment: [
            "PATH": "/usr/bin:/bin", "HOME": directory, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_ALLOW_PROTOCOL": "file",
        ], directory: directory)
    if result.status != 0 { throw GitFailure(description: "git \(arguments.joined(separator: " ")): \(result)") }
    return result
}

struct GitFailure: Error, CustomStringConvertible { let description: String }

/// Creates `path` (and its parents) holding `text`, with `mode`.
func makeFile(_ path: String, _ text: String, mode: mode_t = 0o600) throws {
    try FileManager.default.createDirectory(
        atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try writeFile(path, text, mode: mode)
}

/// Starts `executable arguments` (keyway, or a shell that execs it) with the sandbox environment and a pipe on
/// standard input that stays open, output discarded: `keyway login` then blocks reading the key. The caller ends it.
func startWaitingOnInput(_ sandbox: Sandbox, _ executable: String, _ arguments: [String]) throws -> (Process, Pipe) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = sandbox.environment
    let input = Pipe()
    process.standardInput = input
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return (process, input)
}
