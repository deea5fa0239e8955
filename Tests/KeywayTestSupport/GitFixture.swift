import Glibc
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
        var values = Environment.process().values
        for (name, value) in environment { values[name] = value }
        let result = try Subprocess.run(["git", "-C", directory] + arguments, environment: values)
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

// MARK: Hostile repositories

extension GitFixture {
    /// A script that records that it ran, with its whole environment, in `marker`, and fails: a command a hostile
    /// repository's configuration names.
    public static func trap(_ script: String, marker: String) throws {
        try writeFile(script, "#!/bin/sh\nenv > '\(marker)'\nexit 1\n", mode: 0o755)
    }

    /// Turns `root` into a partial clone whose promisor remote `origin` is a local path (file protocol) with
    /// `uploadPack` as its upload-pack command: any object git cannot find makes it "lazily fetch" it by running
    /// `uploadPack`. The configuration also tries to re-allow the file protocol.
    public static func makePromisor(_ root: String, uploadPack: String) throws {
        for (key, value) in [
            ("core.repositoryformatversion", "1"), ("extensions.partialClone", "origin"),
            ("remote.origin.url", root + "-origin.git"), ("remote.origin.promisor", "true"),
            ("remote.origin.fetch", "+refs/heads/*:refs/remotes/origin/*"), ("remote.origin.uploadpack", uploadPack),
            ("protocol.allow", "always"), ("protocol.file.allow", "always"),
        ] {
            try git(["config", key, value], in: root)
        }
    }

    /// Deletes the loose object `oid` from the repository at `root`.
    public static func removeObject(_ oid: String, in root: String) throws {
        let hex = oid.filter(\.isHexDigit)
        let path = root + "/.git/objects/" + String(hex.prefix(2)) + "/" + String(hex.dropFirst(2))
        guard unlink(path) == 0 else { throw Failure(description: "cannot remove \(path): \(Errno.current)") }
    }

    /// A repository as a tarball would unpack it: a partial clone with a sparse index (cone `docs`) whose
    /// out-of-cone directory `secrets` is a sparse-directory entry with its tree object missing. Listing the index
    /// (`ls-files`, `diff --cached`, `log`) needs that tree, so git would run `uploadPack` to fetch it.
    public static func sparseIndexPartialClone(_ root: String, uploadPack: String) throws {
        try sparseIndexPartialClone(root) { try makePromisor($0, uploadPack: uploadPack) }
    }

    /// The same repository with its promisor remote configured by `promisor` (called with the root).
    public static func sparseIndexPartialClone(_ root: String, promisor: (String) throws -> Void) throws {
        try initialize(root)
        try write(root, "docs/README", "docs\n")
        try write(root, "secrets/placeholder", "nothing\n")
        try write(root, "top.txt", "top\n")
        try commitAll(root)
        try git(["sparse-checkout", "init", "--cone", "--sparse-index"], in: root)
        try git(["sparse-checkout", "set", "docs"], in: root)
        let tree = try git(["rev-parse", "HEAD:secrets"], in: root)
        try promisor(root)
        try removeObject(tree, in: root)
    }

    /// A partial clone (no sparse index) with two blobs missing: `old.txt`'s first version (reached only by
    /// reading history) and the staged `new.txt` (reached by reading the index's objects).
    public static func missingBlobPartialClone(_ root: String, uploadPack: String) throws {
        try initialize(root)
        try write(root, "old.txt", "first\n")
        try commitAll(root)
        let first = try git(["rev-parse", "HEAD:old.txt"], in: root)
        try write(root, "old.txt", "second\n")
        try commitAll(root)
        try write(root, "new.txt", "staged\n")
        try git(["add", "new.txt"], in: root)
        let staged = try git(["rev-parse", ":new.txt"], in: root)
        try makePromisor(root, uploadPack: uploadPack)
        try removeObject(first, in: root)
        try removeObject(staged, in: root)
    }
}

// MARK: Hidden history

extension GitFixture {
    /// A repository whose first commit holds `line` in `a.txt`; the second replaces it with a clean line, the third
    /// adds `b.txt`. Returns the three commits and the two versions of `a.txt`.
    public static func keyThenClean(_ root: String, line: String) throws
        -> (commits: [String], bad: String, clean: String)
    {
        try initialize(root)
        try write(root, "a.txt", line + "\n")
        try commitAll(root, "first")
        let first = try git(["rev-parse", "HEAD"], in: root).filter(\.isHexDigit)
        try write(root, "a.txt", "nothing here\n")
        try commitAll(root, "second")
        let second = try git(["rev-parse", "HEAD"], in: root).filter(\.isHexDigit)
        try write(root, "b.txt", "more\n")
        try commitAll(root, "third")
        let third = try git(["rev-parse", "HEAD"], in: root).filter(\.isHexDigit)
        let bad = try git(["rev-parse", first + ":a.txt"], in: root).filter(\.isHexDigit)
        let clean = try git(["rev-parse", second + ":a.txt"], in: root).filter(\.isHexDigit)
        return ([first, second, third], bad, clean)
    }
}
