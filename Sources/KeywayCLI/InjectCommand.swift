import ArgumentParser
import Glibc
import Keyway

struct Inject: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fill a template's {{ keyway://APP[/PROFILE][#field] }} references with keys.",
        discussion: """
            Every reference is resolved before anything is written; any that cannot be is an error naming its line \
            (exit 1 when keys are not found, 2 otherwise). With -o, FILE is written atomically with mode 0600 \
            (replacing it); it is refused when it lies in a git work tree that does not ignore it, unless --force. \
            Without -o the result goes to standard output.
            """)

    @Option(name: [.customShort("i"), .customLong("in")], help: "The template (- for standard input).")
    var template: String
    @Option(name: [.customShort("o"), .customLong("out")], help: "The file to write (default: standard output).")
    var outputFile: String?
    @Flag(help: "Write FILE even inside a git work tree that does not ignore it.") var force = false
    @OptionGroup var profile: ProfileOption
    @OptionGroup var store: StoreFlags

    func run() throws {
        try guarded {
            let context = try Context(store)
            let pieces: [ReferenceTemplate.Piece]
            do throws(KeywayError) {
                pieces = try ReferenceTemplate.parse(try readNamedFile(template, what: "template"))
            } catch {
                throw KeywayError(error.code, "\(template): \(error.message)", path: template)
            }
            // A symbolic link is refused: the file written would replace the link where it is, while git would be
            // asked about its target (a tracked link to an ignored file would become a tracked file of keys).
            if let outputFile, let st = try? Sys.lstat(outputFile), FileMode.isSymlink(st) {
                throw KeywayError(
                    .unsafeFile,
                    "Not written: \(outputFile) is a symbolic link; the keys would replace the link itself. Name the "
                        + "file it points to, or remove the link.", path: outputFile)
            }
            // Refused before any key is read when the output would land where git picks it up.
            if let outputFile, !force { try Self.refuseUnignored(outputFile, context) }
            let resolver = ReferenceResolver(context, profile: profile.profile)
            var bytes: [UInt8] = []
            var problems: [ResolutionProblem] = []
            for piece in pieces {
                switch piece {
                case .text(let text):
                    bytes += text
                case .reference(let reference, let line):
                    switch resolver.value(of: reference, for: "\(template) line \(line)") {
                    case .success(let value): bytes += Array(value.utf8)
                    case .failure(let failure): problems.append(failure.problem)
                    }
                }
            }
            if !problems.isEmpty { return report(problems) }
            guard let outputFile else {
                do throws(Errno) { try Sys.writeAll(1, bytes) } catch {
                    throw KeywayError(.io, "Cannot write to standard output: \(error).")
                }
                return ExitStatus.success
            }
            let target = Git.absolutePath(outputFile, from: currentDirectory())
            try ProtectedFile.replace(target, with: bytes)
            return ExitStatus.success
        }
    }

    /// The git-repository warning (`Git.leakWarning`) for `path`, made an error: a filled template holds keys, and
    /// one git would pick up or already tracks is one commit away from a leak. `KEYWAY_NO_GIT_WARNING` does not lift
    /// it; only `--force` does. Git failing to answer is refused too.
    static func refuseUnignored(_ path: String, _ context: Context) throws(KeywayError) {
        var environment = context.environment
        environment.values["KEYWAY_NO_GIT_WARNING"] = nil
        guard let warning = Git.leakWarning(for: path, environment: environment, workingDirectory: currentDirectory())
        else { return }
        throw KeywayError(
            .gitRefused,
            "Not written: \(warning.message) Use --force to write it anyway.", path: path)
    }
}

extension KeywayError.Code {
    /// `keyway inject -o FILE` would write keys into a git work tree that does not ignore FILE.
    static let gitRefused = KeywayError.Code(rawValue: "git-refused")
}
