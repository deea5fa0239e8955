import Foundation
import KeywayTestSupport
import Testing

/// The README's "Using Keyway from Swift" code block is Examples/LibraryExample/main.swift's code between its two
/// marker lines, byte for byte, so the README shows code that compiles (the example is built with the package).
@Suite struct ReadmeExampleTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func theReadmeShowsTheCompiledExample() throws {
        let example = try String(
            contentsOf: Self.root.appendingPathComponent("Examples/LibraryExample/main.swift"), encoding: .utf8)
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        let begin = "// README example begin\n"
        let end = "// README example end\n"
        let start = try #require(example.range(of: begin), "the example's begin marker")
        let stop = try #require(example.range(of: end, range: start.upperBound..<example.endIndex), "its end marker")
        let code = String(example[start.upperBound..<stop.lowerBound])
        #expect(code.contains("import Keyway"))
        let shown = readme.contains("```swift\n" + code + "```\n")
        #expect(
            shown, "README.md must show Examples/LibraryExample/main.swift's code between the markers as a swift block")
    }
}

/// The README's example runs: it stores a key, resolves it from the store and finds it pasted into a file.
@Suite struct LibraryExampleRunTests {
    @Test func theExampleStoresResolvesAndLeakChecks() throws {
        let directory = try TemporaryDirectory(prefix: "keyway-library-example")
        let work = directory.path + "/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        try writeFile(work + "/notes.txt", "token = mt_example0000111122223333\n", mode: 0o600)
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var binary = bundle.deletingLastPathComponent()
        for _ in 0..<3
        where !FileManager.default.isExecutableFile(atPath: binary.appendingPathComponent("LibraryExample").path) {
            binary = binary.deletingLastPathComponent()
        }
        let process = Process()
        process.executableURL = binary.appendingPathComponent("LibraryExample")
        process.arguments = ["mytool", "mt_example0000111122223333"]
        process.currentDirectoryURL = URL(fileURLWithPath: work)
        process.environment = [
            "HOME": directory.path, "KEYWAY_CONFIG_DIR": directory.path + "/config", "KEYWAY_BACKEND": "plaintext",
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
        ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let credentials = directory.path + "/config/credentials.json"
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.count == 5, "\(text)")
        guard lines.count == 5 else { return }
        #expect(lines[0] == "stored: Credential(mytool (profile default), key mt_...3333, account me@example.com)")
        #expect(lines[1] == "mytool: mt_...3333 from the plaintext store \(credentials)")
        // The key just stored, pasted into a file of the directory checked: found through the store's digests.
        #expect(lines[2].hasPrefix("warning: \(work)/notes.txt: The key Keyway stores for mytool/default (plaintext)"))
        #expect(lines[3] == "leak-check: 1 findings, exit status 1")
        #expect(lines[4] == "")
        #expect(!text.contains("mt_example0000111122223333"), "the key is never printed")
    }
}
