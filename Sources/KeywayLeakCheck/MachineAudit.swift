import Glibc
import KeywayCore

/// The machine audit (no PATH): every credentials file the specs name, its permissions and whether it is in a
/// repository.
extension LeakChecker {
    /// The credentials files of the machine: the app specs' files, Keyway's own files and the well-known ones.
    public func machineFiles() -> [String] {
        var files: [String] = []
        func add(_ path: String) { if !files.contains(path) { files.append(path) } }
        let environment = options.environment
        for spec in options.specs {
            for source in spec.sources {
                if let path = source.fileLocation?.resolve(environment).path, path.hasPrefix("/") { add(path) }
            }
        }
        options.keywayFiles.forEach(add)
        if let home = environment.home {
            for relative in [
                ".aws/credentials", ".netrc", ".npmrc", ".pypirc", ".docker/config.json", ".config/gh/hosts.yml",
                ".git-credentials",
            ] {
                add(home + "/" + relative)
            }
            if environment.nonEmpty("KUBECONFIG") == nil { add(home + "/.kube/config") }
        }
        if let aws = environment.nonEmpty("AWS_SHARED_CREDENTIALS_FILE"), aws.hasPrefix("/") { add(aws) }
        if let kube = environment.nonEmpty("KUBECONFIG") {
            for part in kube.split(separator: ":") where part.hasPrefix("/") { add(String(part)) }
        }
        return files
    }

    func auditMachine() {
        auditKeywayDirectories()
        for file in machineFiles() {
            guard let st = try? Sys.lstat(file) else { continue }
            // A symbolic link (dotfiles managers): audit the file it points to.
            var target = file
            if FileMode.isSymlink(st) {
                guard let real = try? Sys.realpath(file) else { continue }
                target = real
            }
            guard let tst = try? Sys.statFollowingLinks(target), FileMode.isRegular(tst) else { continue }
            let repository = Git.repository(
                containingFile: target, environment: gitEnvironment, workingDirectory: options.workingDirectory)
            var state: Finding.GitStatus?
            if let repository {
                let runner = GitRunner(root: repository.root, timeout: gitTimeout)
                do throws(KeywayError) {
                    state = try fileState(runner, relative: Finding.relative(target, to: repository.root))
                } catch {
                    fail(error.message)
                }
                if let state {
                    addCredentialsFileFinding(target, repository: repository.root, state: state)
                }
            }
            checkPermissions(tst, path: target, repository: repository?.root, git: state)
        }
        // The home directory itself as a repository (dotfiles): its tracked files.
        if let home = options.environment.home, let st = try? Sys.lstat(home + "/.git"), st.st_mode != 0 {
            scanRepository(home, prefix: nil, trackedOnly: true)
        }
    }

    /// Tracked, staged (added to the index and not yet in HEAD), ignored or untracked.
    func fileState(_ runner: GitRunner, relative: String) throws(KeywayError) -> Finding.GitStatus {
        if !(try runner.run(["ls-files", "-z", "--cached", "--", relative]).isEmpty) {
            let added = try runner.paths([
                "diff", "--cached", "--name-only", "-z", "--diff-filter=A", "--no-renames",
                "--no-ext-diff", "--", relative,
            ])
            let hasHead = (try? runner.run(["rev-parse", "--verify", "--quiet", "HEAD"])) != nil
            return (!hasHead || !added.isEmpty) ? .staged : .tracked
        }
        let ignored = try runner.run(["ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--", relative])
        return ignored.isEmpty ? .untracked : .ignored
    }
}
