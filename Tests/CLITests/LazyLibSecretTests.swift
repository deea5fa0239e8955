import Foundation
import KeywayTestSupport
import Testing

/// keyway does not link libsecret: libsecret-1.so.0, and with it GLib, GIO, GObject, libgcrypt and their own
/// dependencies, is dlopen()ed only when a command opens the Secret Service store (Backends/CLibSecret). Before, every
/// run loaded them all at exec time (NEEDED entries), whatever its backend.
@Suite struct LazyLibSecretTests {
    /// The libraries only the keyring backend needs.
    static let keyringStack = [
        "/libsecret-1.so", "/libglib-2.0.so", "/libgio-2.0.so", "/libgobject-2.0.so", "/libgmodule-2.0.so",
        "/libgcrypt.so",
    ]

    /// The shared objects a run initialised, from its `LD_DEBUG=libs` output ("calling init: PATH", one per object,
    /// whether loaded at exec time or by dlopen).
    static func initialised(_ result: RunResult) -> [String] {
        result.stderr.split(separator: "\n").compactMap { line in
            line.range(of: "calling init: ").map { String(line[$0.upperBound...]) }
        }
    }

    static func keyringLibraries(_ result: RunResult) -> [String] {
        initialised(result).filter { object in keyringStack.contains { object.contains($0) } }
    }

    static let key = "rfx_lazy_libsecret_0123456789"

    /// The plaintext and encrypted backends, and commands that open no store, load none of it.
    @Test func otherBackendsAndCommandsLoadNoGLib() throws {
        let sandbox = try Sandbox(backend: "plaintext")
        let stored = try sandbox.run(["login", "reflex", "--api-key", Self.key])
        try #require(stored.status == 0, "\(stored)")
        let commands = [
            ["--version"], ["get", "reflex"], ["list"], ["status", "reflex"],
            ["run", "reflex", "--no-mask", "--", "/bin/true"],
        ]
        for arguments in commands {
            let result = try sandbox.run(arguments, env: ["LD_DEBUG": "libs"])
            #expect(result.status == 0, "\(arguments): \(result)")
            let objects = Self.initialised(result)
            #expect(objects.contains { $0.contains("/libc.so") }, "LD_DEBUG took effect: \(arguments): \(result)")
            #expect(Self.keyringLibraries(result).isEmpty, "\(arguments): \(objects)")
        }
        // auto on a machine without a session bus (a server): the keyring is passed over before anything is loaded.
        let auto = try sandbox.run(
            ["get", "reflex"], env: ["LD_DEBUG": "libs", "KEYWAY_BACKEND": "auto"],
            removing: ["DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"])
        #expect(auto.status == 0, "\(auto)")
        #expect(Self.keyringLibraries(auto).isEmpty, "\(Self.initialised(auto))")
        // The encrypted vault (a raw key file; after `auto`, which would then need its key too).
        let keyFile = sandbox.root + "/vault.key"
        let initialised = try sandbox.run(["vault", "init", "--key-file", keyFile])
        try #require(initialised.status == 0, "\(initialised)")
        let vault = ["KEYWAY_BACKEND": "encrypted", "KEYWAY_VAULT_KEY_FILE": keyFile]
        let login = try sandbox.run(["login", "reflex", "--api-key", Self.key], env: vault)
        try #require(login.status == 0, "\(login)")
        let encrypted = try sandbox.run(["get", "reflex"], env: vault.merging(["LD_DEBUG": "libs"]) { $1 })
        #expect(encrypted.status == 0 && encrypted.stdout == Self.key + "\n", "\(encrypted)")
        #expect(Self.initialised(encrypted).contains { $0.contains("/libsodium.so") }, "\(encrypted)")
        #expect(Self.keyringLibraries(encrypted).isEmpty, "\(Self.initialised(encrypted))")
    }

    /// The control: a command that opens the Secret Service store loads libsecret (and GLib), once the bus address is
    /// known, even when the bus then turns out to be missing.
    @Test func theKeyringBackendLoadsLibSecretWhenItOpensTheStore() throws {
        let sandbox = try Sandbox(backend: "keyring")
        let result = try sandbox.run(
            ["get", "reflex"],
            env: ["LD_DEBUG": "libs", "DBUS_SESSION_BUS_ADDRESS": "unix:path=" + sandbox.root + "/no-bus"])
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.contains("Cannot connect to the D-Bus session bus"), "\(result)")
        let loaded = Self.keyringLibraries(result)
        #expect(loaded.contains { $0.contains("/libsecret-1.so") }, "\(Self.initialised(result))")
        #expect(loaded.contains { $0.contains("/libglib-2.0.so") }, "\(Self.initialised(result))")
    }

    /// A directory on LD_LIBRARY_PATH (honoured by dlopen for a program that is not set-user-ID) whose
    /// libsecret-1.so.0 is `library`: an empty file (not loadable) or another real library (loadable, but without
    /// libsecret's functions).
    static func shadowing(_ sandbox: Sandbox, with library: String?) throws -> String {
        let directory = sandbox.root + "/lib"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/libsecret-1.so.0"
        if let library {
            try FileManager.default.copyItem(atPath: library, toPath: path)
        } else {
            try makeFile(path, "", mode: 0o644)
        }
        return directory
    }

    /// The path of a shared library this test process has loaded (the test bundle links libyaml through KeywayCore),
    /// by the start of its file name.
    static func loadedLibrary(named name: String) throws -> String {
        // Read to the end (procfs files have no size).
        let handle = try #require(FileHandle(forReadingAtPath: "/proc/self/maps"))
        defer { try? handle.close() }
        let maps = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        let path = maps.split(separator: "\n").compactMap { line -> String? in
            guard let slash = line.firstIndex(of: "/") else { return nil }
            let path = String(line[slash...])
            // The file itself, not the soname's link: libyaml-0.so.2.0.9 for libyaml-0.so.2.
            return (path as NSString).lastPathComponent.hasPrefix(name) ? path : nil
        }.first
        return try #require(path, "\(name) is loaded by the test process")
    }

    @Test(arguments: ["unloadable", "no symbols"])
    func aMissingLibSecretIsAClearErrorNotACrash(_ kind: String) throws {
        let sandbox = try Sandbox(backend: "keyring")
        let library = kind == "unloadable" ? nil : try Self.loadedLibrary(named: "libyaml-0.so")
        let directory = try Self.shadowing(sandbox, with: library)
        let env = ["LD_LIBRARY_PATH": directory, "DBUS_SESSION_BUS_ADDRESS": "unix:path=" + sandbox.root + "/no-bus"]
        let why =
            kind == "unloadable"
            ? directory + "/libsecret-1.so.0: file too short"
            : "libsecret-1.so.0 (or the GLib it loads) has no g_free"
        for arguments in [["get", "reflex"], ["login", "reflex", "--api-key", Self.key], ["list"]] {
            let result = try sandbox.run(arguments, env: env)
            #expect(result.status == 2, "\(arguments): \(result)")
            #expect(
                result.stderr.contains(
                    "The Secret Service (keyring) backend needs libsecret-1.so.0, which could not be loaded: \(why). "
                        + "Install libsecret (Debian: libsecret-1-0), or use --backend encrypted or --backend "
                        + "plaintext."), "\(arguments): \(result)")
            #expect(!result.stderr.contains(Self.key), "\(result)")
        }

        // `auto` in a session whose bus is named: the keyring is passed over with a warning saying why, and the
        // other backends are used.
        let stored = try sandbox.run(["login", "reflex", "--api-key", Self.key], env: ["KEYWAY_BACKEND": "plaintext"])
        try #require(stored.status == 0, "\(stored)")
        let auto = try sandbox.run(["get", "reflex"], env: env.merging(["KEYWAY_BACKEND": "auto"]) { $1 })
        #expect(auto.status == 0, "\(auto)")
        #expect(auto.stdout == Self.key + "\n", "\(auto)")
        #expect(
            auto.stderr.contains("The keyring was passed over, and only the other backends were used: ")
                && auto.stderr.contains("needs libsecret-1.so.0"), "\(auto)")
    }
}
