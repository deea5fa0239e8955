internal import CKeywayPlatform
import Glibc

/// Core dumps off for the rest of the process, done before the first secret is unlocked (the CLI does it first thing
/// at start, `disableAtStart`, before it parses anything).
///
/// Only the soft `RLIMIT_CORE` is lowered (to 0), so `restoreLimitForExec` can put it back for a program Keyway
/// becomes (`keyway run`); the hard limit is never touched. `PR_SET_DUMPABLE` 0 needs no undoing: execve resets it.
package enum CoreDumps {
    /// 0 or the errno of the call that failed, and the core limits the process had before.
    private static let state: (errno: Int32, before: rlimit) = {
        var before = rlimit()
        let errno = keyway_disable_core_dumps(&before.rlim_cur, &before.rlim_max) == 0 ? 0 : Glibc.errno
        return (errno, before)
    }()

    /// The soft and hard core-size limits the process started with (as found when core dumps were turned off).
    package static var limitAtStart: rlimit { state.before }

    /// Turns core dumps off now (once per process). A failure is not reported here: it is reported, and nothing is
    /// unlocked, when a secret is about to be (`disable`).
    public static func disableAtStart() { _ = state }

    /// Disables core dumps (once); throws when the system refuses, so no secret is unlocked in a dumpable process.
    package static func disable() throws(KeywayError) {
        guard state.errno == 0 else {
            throw KeywayError(
                .io,
                "Cannot turn off core dumps before unlocking the vault: \(Errno(state.errno)). Nothing was decrypted.")
        }
    }

    /// Puts the soft core-size limit back to what the process started with (the hard limit was never changed), for
    /// the program about to replace this process by execve.
    public static func restoreLimitForExec() throws(KeywayError) {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &limit) == 0 else {
            throw KeywayError(.io, "Cannot read the core file size limit: \(Errno.current).")
        }
        limit.rlim_cur = min(state.before.rlim_cur, limit.rlim_max)
        guard setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &limit) == 0 else {
            throw KeywayError(.io, "Cannot restore the core file size limit: \(Errno.current).")
        }
    }
}
