internal import CLibSecret
import KeywayCore

/// libsecret-1.so.0, loaded (with the GLib, GIO and GObject it needs) by the first `Session` of the process rather
/// than at exec time: keyway does not link it, so no other backend and no other command loads it. See
/// Backends/CLibSecret/include/CLibSecret.h.
enum LibSecret {
    /// The soname loaded.
    static let soname = "libsecret-1.so.0"

    /// Loads libsecret and looks up every function the backend calls (once per process; later calls give the same
    /// outcome). Fails with `.keyringNoLibrary` when the library, or one of the functions, is missing.
    static func load() throws(KeywayError) {
        var message = [CChar](repeating: 0, count: 256)
        if keyway_libsecret_load(&message, message.count) != 0 { return }
        let why = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        throw KeywayError(
            .keyringNoLibrary,
            "The Secret Service (keyring) backend needs \(soname), which could not be loaded: \(why). Install "
                + "libsecret (Debian: libsecret-1-0), or use --backend encrypted or --backend plaintext.")
    }
}
