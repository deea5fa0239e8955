import KeywayCore

/// Builds git repositories for tests, independent of the machine's git configuration.
public enum GitFixture {
    /// No global or system configuration, a fixed author, and nothing that points git at another repository.
    public static let environment: [String: String?] = [
        "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid", "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid", "GIT_DIR": nil, "GIT_WORK_TREE": nil, "GIT_INDEX_FILE": nil,
        "GIT_TERMINAL_PROMPT": "0",
    ]

    /// The same, as plain strings for a child process's environment.
    public static var plainEnvironment: [String: String] {
        var values: [String: String] = [:]
        for (name, value) in environment { if let value { values[name] = value } }
        return values
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// Runs `git args...` in `directory`; a non-zero exit throws with git's output.
    @discardableResult
    public static func git(_ arguments: [String], in directory: String) throws -> String {
        let result = try Subprocess.run(["git", "-C", directory] + arguments, environment: environment)
        guard result.status == 0 else {
            throw Failure(description: "git \(arguments.joined(separator: " ")) failed: \(result.stderrText)")
        }
        return result.stdoutText
    }

    /// `git init` (branch main) in a new directory `path`.
    public static func initialize(_ path: String) throws {
        try Sys.mkdir(path, 0o755)
        try git(["init", "-q", "-b", "main"], in: path)
    }

    /// Writes `text` to `root/relative` (creating directories) with `mode`.
    public static func write(_ root: String, _ relative: String, _ text: String, mode: mode_t = 0o644) throws {
        var directory = root
        for part in relative.split(separator: "/").dropLast() {
            directory += "/" + part
            if (try Sys.lstat(directory)) == nil { try Sys.mkdir(directory, 0o755) }
        }
        try writeFile(root + "/" + relative, text, mode: mode)
    }

    /// Adds everything and commits.
    public static func commitAll(_ root: String, _ message: String = "commit") throws {
        try git(["add", "-A"], in: root)
        try git(["commit", "-q", "-m", message], in: root)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
