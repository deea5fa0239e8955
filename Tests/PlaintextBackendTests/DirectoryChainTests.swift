import KeywayCore
import KeywayTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `DirectoryChain`: ssh's StrictModes for the directories leading to Keyway's files (review item 6).
@Suite struct DirectoryChainTests {
    @Test func aPrivateChainHasNoProblem() throws {
        let dir = try TemporaryDirectory()
        try Sys.mkdir(dir.path + "/config", 0o700)
        // /tmp (sticky, root's) above it is fine; so is a directory that does not exist yet.
        #expect(DirectoryChain.problems(for: dir.path + "/config", home: nil) == [])
        #expect(DirectoryChain.problems(for: dir.path + "/config/not/yet", home: nil) == [])
    }

    @Test func aStickyDirectoryIsExcusedOnlyAboveTheFiles() throws {
        let dir = try TemporaryDirectory()
        let sticky = dir.path + "/shared"
        try Sys.mkdir(sticky, 0o700)
        #expect(chmod(sticky, 0o1777) == 0)
        try Sys.mkdir(sticky + "/mine", 0o700)
        #expect(DirectoryChain.problems(for: sticky + "/mine", home: nil) == [], "an ancestor like /tmp")
        #expect(DirectoryChain.problems(for: sticky + "/missing", home: nil) == [], "where a directory will be created")
        let own = DirectoryChain.problems(for: sticky, home: nil)
        #expect(own.map(\.kind) == [.writable(mode: 0o1777)], "the directory holding the files itself")
    }

    @Test func theWalkStopsAtHome() throws {
        let dir = try TemporaryDirectory()
        let home = dir.path + "/home"
        try Sys.mkdir(home, 0o755)
        try Sys.mkdir(home + "/.config", 0o700)
        #expect(chmod(dir.path, 0o777) == 0)
        defer { chmod(dir.path, 0o700) }
        #expect(DirectoryChain.problems(for: home + "/.config", home: home) == [])
        #expect(DirectoryChain.problems(for: home + "/.config", home: nil).map(\.path) == [dir.path], "up to / otherwise")
    }

    @Test func strictModeThrowsAndOtherwiseWarns() throws {
        let dir = try TemporaryDirectory()
        #expect(chmod(dir.path, 0o770) == 0)
        let log = WarningLog()
        try DirectoryChain.check([dir.path, dir.path + "/sub"], home: nil, strict: false, warn: log.handler)
        #expect(log.warnings.map(\.code) == [.insecureDirectory], "each problem once")
        let error = try #require(throws: KeywayError.self) {
            try DirectoryChain.check([dir.path], home: nil, strict: true, warn: nil)
        }
        #expect(error.code == .insecurePermissions && error.message.contains("chmod go-w \(dir.path)"))
    }
}
