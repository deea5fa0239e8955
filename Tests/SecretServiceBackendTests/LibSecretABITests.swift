import Foundation
import KeywayTestSupport
import Testing

@testable import KeywaySecretService

/// The Secret Service backend's C shim declares the part of libsecret's and GLib's ABI it uses itself (it is built
/// without their headers, and loads libsecret with dlopen): Backends/CLibSecret/abi-check.c, compiled here with the
/// real headers (libsecret-1-dev) and -Werror, fails on any declaration that differs from them.
@Suite struct LibSecretABITests {
    static let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// The Swift toolchain's clang (next to `swift`), else cc.
    static func compiler() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let swift = URL(fileURLWithPath: String(directory) + "/swift")
            guard FileManager.default.isExecutableFile(atPath: swift.path) else { continue }
            let clang = swift.resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("clang")
            if FileManager.default.isExecutableFile(atPath: clang.path) { return clang.path }
        }
        return try #require(
            ["/usr/bin/cc", "/usr/bin/clang", "/usr/bin/gcc"].first {
                FileManager.default.isExecutableFile(atPath: $0)
            },
            "a C compiler")
    }

    @Test func theShimsDeclarationsMatchLibSecretsHeaders() throws {
        let flags = try captureOutput("/usr/bin/pkg-config", ["--cflags", "libsecret-1"])
        try #require(flags.status == 0, "pkg-config libsecret-1 (Debian: libsecret-1-dev): \(flags)")
        let shim = Self.package + "/Backends/CLibSecret"
        let arguments =
            ["-fsyntax-only", "-Wall", "-Wextra", "-Werror", "-I", shim + "/include", "-I", shim]
            + flags.stdout.split(whereSeparator: \.isWhitespace).map(String.init) + [shim + "/abi-check.c"]
        let result = try captureOutput(try Self.compiler(), arguments, environment: ["PATH": "/usr/bin:/bin"])
        #expect(result.status == 0, "\(result)")
    }

    /// `$XDG_RUNTIME_DIR/bus` is escaped in Swift (no GLib before a session) as GLib's g_dbus_address_escape_value
    /// does: its output for bytes 1-127, recorded from GLib 2.74; bytes above are escaped too.
    @Test func busAddressValuesAreEscapedAsGLibDoes() {
        let ascii = String(decoding: (1...127).map { UInt8($0) }, as: UTF8.self)
        #expect(
            SecretServiceConfiguration.escapedAddressValue(ascii)
                == "%01%02%03%04%05%06%07%08%09%0A%0B%0C%0D%0E%0F%10%11%12%13%14%15%16%17%18%19%1A%1B%1C%1D%1E%1F%20%21"
                + "%22%23%24%25%26%27%28%29%2A%2B%2C-./0123456789%3A%3B%3C%3D%3E%3F%40ABCDEFGHIJKLMNOPQRSTUVWXYZ%5B\\%5D"
                + "%5E_%60abcdefghijklmnopqrstuvwxyz%7B%7C%7D%7E%7F")
        #expect(SecretServiceConfiguration.escapedAddressValue("/run/user/1000/bus") == "/run/user/1000/bus")
        #expect(SecretServiceConfiguration.escapedAddressValue("/tmp/a b/\u{E9}") == "/tmp/a%20b/%C3%A9")
    }
}
