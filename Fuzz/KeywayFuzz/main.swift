import CFuzzDriver
import Glibc

// The fuzz driver: one binary, one libFuzzer target per parser of untrusted input, chosen by KEYWAY_FUZZ_TARGET (an
// environment variable, so libFuzzer's -jobs/-fork/-minimize_crash children, which re-run this binary with their own
// flags, keep it). Built only by scripts/fuzz (KEYWAY_FUZZ=1 in Package.swift). A target returns normally on any input
// the parser rejects with an error; a crash, a sanitizer report or a broken invariant (fatalError) is a finding.

/// A fuzz target: `run` gets one input; `setUp` runs once before the first.
struct FuzzTarget: Sendable {
    let name: String
    let about: String
    var setUp: @Sendable () -> Void = {}
    let run: @Sendable ([UInt8]) -> Void
}

let targets: [FuzzTarget] = [
    CredentialsFuzz.target, YAMLFuzz.target, AppSpecFuzz.target, VaultFileFuzz.target, VaultBodyFuzz.target,
    ScannerFuzz.target, BaselineFuzz.target, GitCredentialFuzz.target, DockerCredentialFuzz.target,
    DotEnvFuzz.target, MaskerFuzz.target, ToolFilesFuzz.target,
]

nonisolated(unsafe) var selected: FuzzTarget?

func fail(_ message: String) -> Never {
    let text = Array("keyway-fuzz: \(message)\n".utf8)
    _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(2)
}

let chosen = getenv("KEYWAY_FUZZ_TARGET").map { String(cString: $0) } ?? ""
guard let target = targets.first(where: { $0.name == chosen }) else {
    fail(
        "set KEYWAY_FUZZ_TARGET to one of:\n"
            + targets.map { "  \($0.name.padding(12)) \($0.about)" }.joined(separator: "\n"))
}
selected = target
target.setUp()

nonisolated(unsafe) var argc = CommandLine.argc
nonisolated(unsafe) var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(
    LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        selected!.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
        return 0
    })

extension String {
    func padding(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}
