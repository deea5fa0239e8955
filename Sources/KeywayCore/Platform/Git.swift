/// Finding the git repository a file sits in (no subprocess), and asking git whether it tracks or ignores it.
package struct GitRepository: Sendable, Equatable {
    /// The top of the work tree.
    public let root: String
    /// How it was recognised: a `.git` directory, a `.git` file (linked worktree or submodule), or `GIT_DIR`.
    public let marker: Marker
    /// `GIT_DIR` and `GIT_WORK_TREE` to pass to git when they defined the repository (else empty: git finds the
    /// repository from its root).
    let environment: [String: String]

    public enum Marker: String, Sendable {
        case gitDirectory = ".git directory"
        case gitFile = ".git file"
        case environment = "GIT_DIR"
    }
}

/// What git would do with a file.
package enum GitFileState: String, Sendable {
    /// In the index (committed or staged).
    case tracked
    /// Not in the index and not ignored: `git add .` would pick it up.
    case untracked
    /// Ignored by a .gitignore, .git/info/exclude or core.excludesFile rule.
    case ignored
}

package enum Git {
    /// Options that keep git from running anything a repository's configuration names (fsmonitor, hooks) and from
    /// reading pathspec magic in file names.
    public static let safeOptions = baseOptions + ["--literal-pathspecs"]

    /// The same without `--literal-pathspecs`, for commands that take plain paths and refuse pathspec magic
    /// (`check-ignore`). `core.useReplaceRefs=false` too: a repository's own `core.useReplaceRefs=true` beats both
    /// `GIT_NO_REPLACE_OBJECTS` and `--no-replace-objects` (git 2.39), a `-c` option beats the repository.
    public static let baseOptions = [
        "-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null", "-c", "core.useReplaceRefs=false",
        "--no-optional-locks",
    ]

    /// How long the credentials-file check waits for git (each of its at most two commands) before it kills it
    /// and warns that git could not say: it is on the path of every `get` and `run`.
    public static let checkTimeout = 10

    /// The variables a git child inherits from Keyway's environment: where git and its helpers are, the user's own
    /// git configuration (global and system, which a repository cannot change) and the locale. Nothing else: no
    /// `KEYWAY_*` unlock material, no other tool's key, no `GIT_DIR`/`GIT_INDEX_FILE`/`GIT_CONFIG_PARAMETERS`/
    /// `GIT_CONFIG_COUNT` left by a parent git, no `SSH_AUTH_SOCK`.
    public static let inheritedVariables: Set<String> = [
        "PATH", "HOME", "XDG_CONFIG_HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "GIT_CONFIG_GLOBAL",
        "GIT_CONFIG_SYSTEM", "GIT_CONFIG_NOSYSTEM",
    ]

    /// Set in every git child whatever the environment says.
    ///
    /// `GIT_ALLOW_PROTOCOL` is a colon-separated allowlist of transport names and overrides every `protocol.*.allow`
    /// a repository configures. Its one entry, `_`, is a name no transport, remote-helper URL (`<scheme>::`, whose
    /// scheme takes only letters, digits, `+`, `-`, `.`) or configuration name (`alias.remote-_` is a bad config
    /// line) can have: a value such as `none` would itself allow a remote helper `none`, which a partial clone's
    /// `remote.<name>.url=none::x` or `remote.<name>.vcs=none` makes git run as `git remote-none`, that is the
    /// repository's own `alias.remote-none = !command`. With `_`, `remote.<name>.vcs=_` makes git look for a
    /// `git-remote-_` program, found only in an absolute PATH directory (every git child's PATH keeps only those),
    /// so nothing the repository holds. `GIT_NO_LAZY_FETCH=1` stops the lazy fetch itself where git knows the
    /// variable (2.39.4 and the other maintenance releases of April 2024 on: Debian 12's 2.39.5 says "lazy fetching
    /// disabled").
    ///
    /// So that a repository cannot hide history from leak-check: no replace objects (`GIT_NO_REPLACE_OBJECTS`, with
    /// `-c core.useReplaceRefs=false` in `baseOptions`), and a graft file that cannot exist (under `/dev/null`,
    /// which is not a directory) in place of `info/grafts`. No prompt, no pager, no optional locks.
    public static let fixedVariables: [String: String] = [
        "GIT_ALLOW_PROTOCOL": "_", "GIT_NO_LAZY_FETCH": "1", "GIT_TERMINAL_PROMPT": "0",
        "GIT_OPTIONAL_LOCKS": "0", "GIT_PAGER": "cat", "GIT_NO_REPLACE_OBJECTS": "1",
        "GIT_GRAFT_FILE": Git.nonexistentFile,
    ]

    /// A path that cannot exist, whoever creates what: `/dev/null` is not a directory.
    public static let nonexistentFile = "/dev/null/keyway-none"

    /// The complete environment of a git child: the `inheritedVariables` (and `LC_*`) from `parent` (of `PATH`, only
    /// its absolute entries; no `PATH` when none is left, and git uses its default), `GIT_INDEX_FILE`
    /// too when `keepingIndexFile` (leak-check reading the index a pre-commit hook was given), then `extra`, then
    /// the `fixedVariables`. Every git Keyway runs gets its environment from here.
    public static func childEnvironment(
        from parent: Environment = .process(), keepingIndexFile: Bool = false, adding extra: [String: String] = [:]
    ) -> [String: String] {
        var result: [String: String] = [:]
        for (name, value) in parent.values
        where inheritedVariables.contains(name) || name.hasPrefix("LC_")
            || (keepingIndexFile && name == "GIT_INDEX_FILE")
        {
            result[name] = value
        }
        // Only absolute PATH entries: an empty or relative one would be the directory git runs in.
        result["PATH"] = result["PATH"].flatMap(Subprocess.absoluteSearchPath)
        result.merge(extra) { $1 }
        result.merge(fixedVariables) { $1 }
        return result
    }

    /// The repository whose work tree contains the file (or other non-directory) at `path`: the search starts at
    /// its directory. See `repository(at:)`.
    public static func repository(
        containingFile path: String, environment: Environment, workingDirectory: String
    ) -> GitRepository? {
        let absolute = absolutePath(path, from: workingDirectory)
        return repository(
            at: absolute, from: ProtectedFile.directoryName(realLocation(absolute)), environment, workingDirectory)
    }

    /// The repository whose work tree contains the directory `path`: the search starts at the directory itself, so
    /// a repository's root, a nested repository's, a submodule's or a linked worktree's is its own repository.
    public static func repository(
        containingDirectory path: String, environment: Environment, workingDirectory: String
    ) -> GitRepository? {
        let absolute = absolutePath(path, from: workingDirectory)
        return repository(at: absolute, from: realLocation(absolute), environment, workingDirectory)
    }

    /// Found with a few `lstat` calls and no subprocess: `GIT_DIR` (with `GIT_WORK_TREE`, else the current
    /// directory, as git does), else the nearest directory from `start` up holding a `.git` directory or file
    /// (linked worktrees and submodules have a `.git` file).
    private static func repository(
        at absolute: String, from start: String, _ environment: Environment, _ workingDirectory: String
    ) -> GitRepository? {
        if let gitDir = environment.nonEmpty("GIT_DIR") {
            let workTree = absolutePath(
                environment.nonEmpty("GIT_WORK_TREE") ?? workingDirectory, from: workingDirectory)
            guard isInside(absolute, workTree) else { return nil }
            return GitRepository(
                root: workTree, marker: .environment,
                environment: ["GIT_DIR": absolutePath(gitDir, from: workingDirectory), "GIT_WORK_TREE": workTree])
        }
        var directory = start
        while true {
            if let st = try? Sys.lstat(directory + (directory == "/" ? ".git" : "/.git")) {
                let marker: GitRepository.Marker = FileMode.isDirectory(st) ? .gitDirectory : .gitFile
                return GitRepository(root: directory, marker: marker, environment: [:])
            }
            if directory == "/" { return nil }
            directory = ProtectedFile.directoryName(directory)
        }
    }

    /// Asks git whether it tracks, ignores or would pick up `path`. Throws with git's own message when git cannot
    /// answer (not installed, a repository it distrusts...).
    public static func state(of path: String, in repository: GitRepository) throws(KeywayError) -> GitFileState {
        let relative = relativePath(realLocation(path), to: repository.root)
        let tracked = try runGit(
            ["--literal-pathspecs", "ls-files", "--error-unmatch", "--", relative], in: repository)
        if tracked.status == 0 { return .tracked }
        if tracked.status != 1 { throw gitFailure(tracked, repository) }
        let ignored = try runGit(["check-ignore", "-q", "--no-index", "--", relative], in: repository)
        switch ignored.status {
        case 0: return .ignored
        case 1: return .untracked
        default: throw gitFailure(ignored, repository)
        }
    }

    static func runGit(_ arguments: [String], in repository: GitRepository) throws(KeywayError) -> Subprocess.Result {
        do {
            return try Subprocess.run(
                ["git"] + baseOptions + arguments, directory: repository.root,
                environment: childEnvironment(adding: repository.environment), timeout: checkTimeout)
        } catch .timedOut(let seconds) {
            throw KeywayError(
                .gitTimedOut, "git did not answer within \(seconds) s in \(repository.root) and was stopped",
                path: repository.root)
        } catch {
            throw KeywayError(.io, "Cannot run git to check \(repository.root): \(error).", path: repository.root)
        }
    }

    static func gitFailure(_ result: Subprocess.Result, _ repository: GitRepository) -> KeywayError {
        var message = result.stderrText.split(separator: "\n").first.map(String.init) ?? "exit \(result.status)"
        if message.count > 300 { message = String(message.prefix(300)) + "..." }
        return KeywayError(.io, "git could not answer for \(repository.root): \(message)", path: repository.root)
    }

    /// The warning for a credentials file inside a git work tree, or nil when there is none to give: outside any
    /// repository, ignored by git, or silenced with `KEYWAY_NO_GIT_WARNING=1`.
    public static func leakWarning(
        for path: String, environment: Environment, workingDirectory: String
    ) -> KeywayWarning? {
        if environment.flag("KEYWAY_NO_GIT_WARNING") { return nil }
        guard
            let repository = repository(
                containingFile: path, environment: environment, workingDirectory: workingDirectory)
        else { return nil }
        let file = realLocation(absolutePath(path, from: workingDirectory))
        let relative = relativePath(file, to: repository.root)
        let ignoreLine = gitignoreLine(relative)
        let gitignore = repository.root + "/.gitignore"
        let state: GitFileState
        do {
            state = try Git.state(of: file, in: repository)
        } catch {
            return KeywayWarning(
                .gitUnknown,
                "\(file) holds an API key and is inside the git repository \(repository.root), but git could not "
                    + "say whether it tracks it (\(error.message)). If it is not ignored, add this line to "
                    + "\(gitignore): \(ignoreLine)")
        }
        switch state {
        case .ignored:
            return nil
        case .tracked:
            return KeywayWarning(
                .gitTracked,
                "\(file) holds an API key and is TRACKED by git in the repository \(repository.root). Stop tracking "
                    + "it with: git -C \(ProtectedFile.shellQuoted(repository.root)) rm --cached -- "
                    + "\(ProtectedFile.shellQuoted(relative)) and add this line to \(gitignore): \(ignoreLine) "
                    + "If the file was ever committed and pushed, rotate the key now.")
        case .untracked:
            return KeywayWarning(
                .gitUntracked,
                "\(file) holds an API key and is inside the git repository \(repository.root), which would pick it "
                    + "up (it is not ignored). Add this line to \(gitignore): \(ignoreLine)")
        }
    }

    /// A .gitignore line matching exactly this path from the repository root, with pattern characters escaped.
    public static func gitignoreLine(_ relative: String) -> String {
        var escaped = ""
        for c in relative {
            if "*?[]\\!#".contains(c) { escaped.append("\\") }
            escaped.append(c)
        }
        if escaped.hasSuffix(" ") { escaped = String(escaped.dropLast()) + "\\ " }
        return "/" + escaped
    }

    // MARK: Paths

    public static func absolutePath(_ path: String, from directory: String) -> String {
        let joined = path.hasPrefix("/") ? path : (directory == "/" ? "/" + path : directory + "/" + path)
        var parts: [Substring] = []
        for part in joined.split(separator: "/") {
            if part == "." { continue }
            if part == ".." {
                if !parts.isEmpty { parts.removeLast() }
                continue
            }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// The path with symbolic links resolved, for as much of it as exists.
    static func realLocation(_ path: String) -> String {
        if let real = try? Sys.realpath(path) { return real }
        let parent = ProtectedFile.directoryName(path)
        if parent == path { return path }
        let base = ProtectedFile.baseName(path)
        let realParent = realLocation(parent)
        return realParent == "/" ? "/" + base : realParent + "/" + base
    }

    static func isInside(_ path: String, _ directory: String) -> Bool {
        directory == "/" || path == directory || path.hasPrefix(directory + "/")
    }

    static func relativePath(_ path: String, to root: String) -> String {
        if root == "/" { return String(path.dropFirst()) }
        if path.hasPrefix(root + "/") { return String(path.dropFirst(root.count + 1)) }
        return path
    }
}

extension KeywayError.Code {
    /// A git child did not finish within its time bound and was killed.
    public static let gitTimedOut = KeywayError.Code(rawValue: "git-timed-out")
}

extension KeywayWarning.Code {
    /// A credentials file is tracked by git.
    public static let gitTracked = KeywayWarning.Code(rawValue: "git-tracked")
    /// A credentials file is inside a git work tree and not ignored.
    public static let gitUntracked = KeywayWarning.Code(rawValue: "git-untracked")
    /// A credentials file is inside a git work tree and git could not say more.
    public static let gitUnknown = KeywayWarning.Code(rawValue: "git-unknown")
}
