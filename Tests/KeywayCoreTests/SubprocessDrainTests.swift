import Glibc
import Testing

@testable import KeywayCore

/// `Subprocess.drain`, which collects a child's standard output and error: a descriptor that fails to read is an
/// error, never an early end of file (which would hand a caller half of git's answer as the whole of it).
@Suite("Subprocess drain")
struct SubprocessDrainTests {
    @Test("a read error throws readFailed instead of ending the output there")
    func readErrorIsNotEndOfFile() throws {
        // A directory: poll says readable, read fails with EISDIR.
        let directory = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        try #require(directory >= 0)
        defer { close(directory) }
        var pipe: [Int32] = [-1, -1]
        try #require(Glibc.pipe(&pipe) == 0)
        defer { close(pipe[0]) }
        _ = "out".withCString { write(pipe[1], $0, 3) }
        close(pipe[1])
        #expect(throws: SubprocessError.readFailed(Errno(EISDIR))) { try Subprocess.drain(pipe[0], directory) }
    }

    @Test("both descriptors are read to their end")
    func bothToEnd() throws {
        var a: [Int32] = [-1, -1], b: [Int32] = [-1, -1]
        try #require(Glibc.pipe(&a) == 0 && Glibc.pipe(&b) == 0)
        defer {
            close(a[0])
            close(b[0])
        }
        _ = "one".withCString { write(a[1], $0, 3) }
        _ = "two".withCString { write(b[1], $0, 3) }
        close(a[1])
        close(b[1])
        let drained = try #require(try Subprocess.drain(a[0], b[0]))
        #expect(drained.0 == Array("one".utf8) && drained.1 == Array("two".utf8))
    }
}
