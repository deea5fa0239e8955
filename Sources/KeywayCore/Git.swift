/// Finding the git repository a file sits in (no subprocess), and asking git whether it tracks or ignores it.
public struct GitRepository: Sendable, Equatable {
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
public enum GitFileState: String, Sendable {
    /// In the index (committed or staged).
    case tracked
    /// Not in the index and not ignored: `git add .` would pick it up.
    case untracked
    /// Ignored by a .gitignore, .git/info/exclude or core.excludesFile rule.
    case ignored
}

public enum Git {
    /// Options that keep git from running anything a repository's configuration names (fsmonitor, hooks) and from
    /// reading pathspec magic in file names.
    public static let safeOptions = baseOptions + ["--literal-pathspecs"]

    /// The same without `--literal-pathspecs`, for commands that take plain paths and refuse pathspec magic
    /// (`check-ignore`).
    public static let baseOptions = [
        "-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null", "--no-optional-locks",
    ]

    /// The variables a git child inherits from Keyway's environment: where git and its helpers are, the user's own
    /// git configuration (global and system, which a repository cannot change) and the locale. Nothing else: no
    /// `KEYWAY_*` unlock material, no other tool's key, no `GIT_DIR`/`GIT_INDEX_FILE`/`GIT_CONFIG_PARAMETERS`/
    /// `GIT_CONFIG_COUNT` left by a parent git, no `SSH_AUTH_SOCK`.
    public static let inheritedVariables: Set<String> = [
        "PATH", "HOME", "XDG_CONFIG_HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "GIT_CONFIG_GLOBAL",
        "GIT_CONFIG_SYSTEM", "GIT_CONFIG_NOSYSTEM",
    ]

    /// Set in every git child whatever the environment says. `GIT_ALLOW_PROTOCOL=none` allows no transport at all
    /// (it overrides every `protocol.*.allow` a repository configures), so a partial clone's "lazy fetch" of a
    /// missing object cannot run the `remote.*.uploadpack`, `core.sshCommand` or remote helper its configuration
    /// names; `GIT_NO_LAZY_FETCH=1` stops the fetch itself where git knows it (2.44 and later). No prompt, no
    /// pager, no optional locks.
    public static let fixedVariables: [String: String] = [
        "GIT_ALLOW_PROTOCOL": "none", "GIT_NO_LAZY_FETCH": "1", "GIT_TERMINAL_PROMPT": "0",
        "GIT_OPTIONAL_LOCKS": "0", "GIT_PAGER": "cat",
    ]

    /// The complete environment of a git child: the `inheritedVariables` (and `LC_*`) from `parent`, `GIT_INDEX_FILE`
    /// too when `keepingIndexFile` (leak-check reading the index a pre-commit hook was given), then `extra`, then
    /// the `fixedVariables`. Every git Keyway runs gets its environment from here.
    public static func childEnvironment(
        from parent: Environment = .process(), keepingIndexFile: Bool = false, adding extra: [String: String] = [:]
    ) -> [String: String] {
        var result: [String: String] = [:]
        for (name, value) in parent.values
        where inheritedVariables.contains(name) || name.hasPrefix("LC_") || (keepingIndexFile && name == "GIT_INDEX_FILE") {
            result[name] = value
        }
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
        return repository(at: absolute, from: ProtectedFile.directoryName(realLocation(absolute)), environment, workingDirectory)
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
            let workTree = absolutePath(environment.nonEmpty("GIT_WORK_TREE") ?? workingDirectory, from: workingDirectory)
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
        let tracked = try runGit(["--literal-pathspecs", "ls-files", "--error-unmatch", "--", relative], in: repository)
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
                environment: childEnvironment(adding: repository.environment))
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
        guard let repository = repository(containingFile: path, environment: environment, workingDirectory: workingDirectory)
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

extension KeywayWarning.Code {
    /// A credentials file is tracked by git.
    public static let gitTracked = KeywayWarning.Code(rawValue: "git-tracked")
    /// A credentials file is inside a git work tree and not ignored.
    public static let gitUntracked = KeywayWarning.Code(rawValue: "git-untracked")
    /// A credentials file is inside a git work tree and git could not say more.
    public static let gitUnknown = KeywayWarning.Code(rawValue: "git-unknown")
}
