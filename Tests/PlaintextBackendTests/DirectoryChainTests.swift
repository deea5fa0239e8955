import KeywayCore
import KeywayTestSupport
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
        #expect(
            DirectoryChain.problems(for: home + "/.config", home: nil).map(\.path) == [dir.path], "up to / otherwise")
    }

    @Test func everyDirectoryOnTheWayThroughLinksIsChecked() throws {
        let dir = try TemporaryDirectory()
        // dir/open (0777) holds the link `keyway` -> dir/private (0700), which holds `credentials.json` -> a file in
        // dir/shared (0777, sticky: excused above a file, not as the directory holding it).
        let open = dir.path + "/open", privateDir = dir.path + "/private", shared = dir.path + "/shared"
        for path in [open, privateDir, shared] { try Sys.mkdir(path, 0o700) }
        #expect(chmod(open, 0o777) == 0 && chmod(shared, 0o1777) == 0)
        try writeFile(shared + "/c.json", "{}", mode: 0o600)
        #expect(symlink(privateDir, open + "/keyway") == 0)
        #expect(symlink(shared + "/c.json", privateDir + "/credentials.json") == 0)
        let file = open + "/keyway/credentials.json"
        #expect(DirectoryChain.problems(forFile: file, home: nil).map(\.path) == [shared, open])
        #expect(DirectoryChain.problems(for: open + "/keyway", home: nil).map(\.path) == [open])
        // Nothing wrong once the link's directory is private; a file in a sticky directory is still refused.
        #expect(chmod(open, 0o700) == 0)
        #expect(DirectoryChain.problems(forFile: file, home: nil).map(\.kind) == [.writable(mode: 0o1777)])
        // A file that does not exist yet: checked where it will be created.
        #expect(DirectoryChain.problems(forFile: shared + "/new.json", home: nil).map(\.path) == [shared])
        #expect(DirectoryChain.problems(forFile: shared + "/sub/new.json", home: nil) == [], "created 0700 in it")
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
