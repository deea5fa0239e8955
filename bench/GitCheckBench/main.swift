// Measures the git-leak check: the no-repository path (lstat walk, no subprocess) and the in-repository path (git
// consulted). Run through bench/gitcheck.sh.
import KeywayCore

#if canImport(Glibc)
    import Glibc
#endif

func seconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    print("usage: GitCheckBench FILE-OUTSIDE-ANY-REPOSITORY FILE-INSIDE-A-REPOSITORY")
    exit(64)
}
let environment = Environment.process()
let cwd = currentDirectory()

var found = 0
let iterations = 100_000
var start = seconds()
for _ in 0..<iterations {
    if Git.repository(containingFile: arguments[1], environment: environment, workingDirectory: cwd) != nil {
        found += 1
    }
}
let outside = (seconds() - start) / Double(iterations)
precondition(found == 0, "the first file is inside a repository")

start = seconds()
for _ in 0..<iterations {
    _ = Git.leakWarning(for: arguments[1], environment: environment, workingDirectory: cwd)
}
let outsideWarning = (seconds() - start) / Double(iterations)

let inRepoRuns = 50
start = seconds()
var warnings = 0
for _ in 0..<inRepoRuns {
    if Git.leakWarning(for: arguments[2], environment: environment, workingDirectory: cwd) != nil { warnings += 1 }
}
let inside = (seconds() - start) / Double(inRepoRuns)
precondition(warnings == inRepoRuns, "the second file should give a warning (untracked, not ignored)")

func fixed(_ value: Double) -> String {
    let hundredths = Int((value * 100).rounded())
    let fraction = hundredths % 100
    return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
}
print("no repository, find only:      \(fixed(outside * 1e6)) µs per check (lstat walk, no subprocess)")
print("no repository, whole check:    \(fixed(outsideWarning * 1e6)) µs per check")
print("inside a repository (git run): \(fixed(inside * 1e3)) ms per check")
