import Foundation
import Testing

/// What `import Keyway` gives a program outside this package: the model, the storage protocol and backends, the
/// backend chooser, resolution, the app-spec format and leak-check's API -- and none of the plumbing, whose names
/// would clash with swift-system (`Errno`, `FileMode`), swift-crypto (`SHA256`), swift-subprocess (`Subprocess`) and
/// others in a program importing those too.
///
/// Each check type-checks a small program with `swiftc -typecheck` and the flags SwiftPM used for
/// `Examples/ReflexExample` (module and header search paths, module maps), except `-package-name`: the program is an
/// outside client, so `package` declarations are invisible to it, as they are to any program depending on the
/// `Keyway` product. About a second each.
@Suite struct PublicSurfaceTests {
    /// The build directory (`<build>/keywayPackageTests.xctest` is the test bundle on Linux).
    static let buildDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        .deletingLastPathComponent().path

    struct Failure: Error, CustomStringConvertible { let description: String }

    /// swiftc's flags for a client of the Keyway module, from SwiftPM's build description.
    static func clientFlags() throws -> [String] {
        let path = buildDirectory + "/description.json"
        guard let data = FileManager.default.contents(atPath: path),
            let description = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let commands = description["swiftCommands"] as? [String: [String: Any]],
            let example = commands.first(where: { $0.key.contains("ReflexExample") })?.value,
            let arguments = example["otherArguments"] as? [String], let importPath = example["importPath"] as? String
        else { throw Failure(description: "no ReflexExample compile command in \(path): build with swift build first") }
        var flags = ["-I", importPath]
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            if ["-target", "-Xcc", "-module-cache-path", "-swift-version"].contains(argument),
                index + 1 < arguments.endIndex
            {
                flags += [argument, arguments[index + 1]]
                index += 2
                continue
            }
            if argument.hasPrefix("-I") || argument.hasPrefix("-D") { flags.append(argument) }
            index += 1
        }
        return flags
    }

    /// Type-checks `source` as an outside client; returns swiftc's exit status and diagnostics.
    static func typecheck(_ source: String? = nil, file: String? = nil) throws -> (status: Int32, output: String) {
        var input = file
        var scratch: String?
        if let source {
            let directory = NSTemporaryDirectory() + "keyway-surface-\(getpid())-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            scratch = directory
            input = directory + "/main.swift"
            try Data(source.utf8).write(to: URL(fileURLWithPath: input!))
        }
        defer { if let scratch { try? FileManager.default.removeItem(atPath: scratch) } }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["swiftc", "-typecheck"] + (try clientFlags()) + [input!]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    /// A program using the library's API the way README's library section shows compiles against `import Keyway`
    /// alone (the control that makes the next test mean something: the flags work).
    @Test func theLibraryAPIIsPublic() throws {
        let (status, output) = try Self.typecheck(
            """
            import Keyway

            func use() throws {
                let environment = Environment.process()
                let options = try StoreOptions(environment: environment, backend: "plaintext")
                let store: any CredentialStore = try openStore(options)
                let documents: [any CredentialDocumentStore] = [
                    PlaintextStore(path: "/tmp/credentials.json"),
                    EncryptedStore(path: "/tmp/vault", unlock: VaultUnlock(environment: environment)),
                ]
                _ = (documents, SecretServiceStore(environment: environment), BackendName.allCases)
                _ = backendReport(options)
                let credential = Credential(id: CredentialID(app: "reflex", profile: "work"), secret: Secret("k"))
                try store.write(credential)
                _ = try store.read(credential.id)?.secret.masked
                let catalog = try AppCatalog.load(configDirectory: options.paths.configDirectory)
                let spec: AppSpec = catalog.spec(for: "reflex")
                let engine = ResolutionEngine(spec: spec, environment: environment, store: store, workingDirectory: "/")
                let resolution: Resolution = try engine.resolve(profile: "work", explain: true)
                let source: KeySource? = resolution.key?.source
                _ = (source, resolution.layers, AppSpecDecoder.self)
                var report: LeakReport = LeakChecker(
                    LeakCheckOptions(
                        paths: ["."], machineAudit: false, environment: environment, workingDirectory: "/",
                        specs: AppCatalog.builtIn)
                ).run()
                report.apply(Baseline(findings: report.findings))
                let finding: Finding? = report.findings.first
                _ = (finding, report.text(showSecrets: false), report.jsonText(showSecrets: false))
                _ = report.sarifText(rules: SecretRule.wellKnown, sourceRoot: nil, version: "1")
                _ = (LeakReportFormat.allCases, Baseline(findings: []).serialized())
                _ = storedSecretsForLeakCheck(options).matcher
                let git = GitCredentialHelper(store: store)
                var message = GitCredentialMessage()
                message.protocolName = "https"
                _ = try git.get(message).message.map(GitCredentialProtocol.serialize)
                _ = try git.importExisting(gitCredentialsFile: nil, remove: false).removalRefused
                let docker = DockerCredentialHelper(store: store)
                _ = try docker.get("r").map(DockerCredentialProtocol.serialize)
                _ = try docker.importExisting(configFile: nil, remove: false).configRewritten
            }
            """)
        #expect(status == 0, "the public API type-checks for an outside client:\n\(output)")
    }

    /// Plumbing names and C libraries are not visible through `import Keyway`.
    @Test func thePlumbingIsNot() throws {
        let hidden = [
            "Sys", "Errno", "FileMode", "FileStatus", "Subprocess", "SubprocessError", "JSON", "YAML", "ProtectedFile",
            "DirectoryChain", "Git", "GitRepository", "SHA256", "GitRunner", "CatFileBatch", "ContentScanner",
            "TerminalText", "CoreDumps", "Masking", "Base64", "PercentEncoding", "ForeignKeyringItem", "HelperSecret",
            "KeyringInterop", "GError", "yaml_parser_t", "crypto_hash_sha256", "keyway_flock",
        ]
        let functions = ["uriEncode", "shownEnvironmentVariable"]
        let body = hidden.map { "    _ = \($0).self" } + functions.map { "    _ = \($0)" }
        let (status, output) = try Self.typecheck(
            "import Keyway\n\nfunc use() {\n" + body.joined(separator: "\n") + "\n}\n")
        #expect(status != 0)
        for name in hidden + functions {
            #expect(output.contains("cannot find '\(name)' in scope"), "\(name) is visible through import Keyway")
        }
        // The members that would have carried plumbing types are not visible either.
        let (memberStatus, memberOutput) = try Self.typecheck(
            """
            import Keyway

            func use(
                _ store: PlaintextStore, _ document: CredentialDocument, _ report: LeakReport,
                _ keyring: SecretServiceStore
            ) {
                _ = store.file
                _ = keyring.foreignItems
                _ = keyring.deleteForeignItem
                _ = document.json()
                _ = report.json(showSecrets: false)
            }
            """)
        #expect(memberStatus != 0)
        for member in ["file", "json", "foreignItems", "deleteForeignItem"] {
            #expect(
                memberOutput.contains("'\(member)' is inaccessible") || memberOutput.contains("no member '\(member)'"),
                "\(member) is visible through import Keyway:\n\(memberOutput)")
        }
    }

    /// The example programs build on the library alone: nothing but the public API (so a program outside the package
    /// could be written the same way; LibraryExample is the README's code).
    @Test(arguments: ["ReflexExample", "LibraryExample"])
    func theExampleUsesOnlyThePublicAPI(_ name: String) throws {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Examples/\(name)/main.swift").path
        let (status, output) = try Self.typecheck(file: example)
        #expect(status == 0, "Examples/\(name) type-checks as an outside client:\n\(output)")
    }
}
