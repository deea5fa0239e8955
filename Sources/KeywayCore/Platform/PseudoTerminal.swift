internal import CKeywayPlatform
import Glibc

/// The terminal calls `keyway run --mask` needs, on the C shim (every pointer stays there): a pseudo-terminal for
/// CMD, window sizes, raw mode for Keyway's own terminal while it relays, and signals reported through a pipe.
package enum PseudoTerminal {
    /// A new pseudo-terminal: the master's descriptor (close-on-exec) and the slave's path.
    public static func open() throws(Errno) -> (master: Int32, slave: String) {
        var name = [CChar](repeating: 0, count: 128)
        let master = name.withUnsafeMutableBufferPointer { keyway_pty_open($0.baseAddress!, UInt($0.count)) }
        guard master >= 0 else { throw .current }
        return (master, String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// Gives the terminal `to` the window size of `from` (the kernel then sends SIGWINCH to `to`'s foreground group).
    @discardableResult
    public static func copyWindowSize(from: Int32, to: Int32) -> Bool { keyway_copy_window_size(from, to) == 0 }

    public static func windowSize(_ fd: Int32) -> (rows: Int, columns: Int)? {
        var rows: UInt16 = 0
        var columns: UInt16 = 0
        guard keyway_get_window_size(fd, &rows, &columns) == 0 else { return nil }
        return (Int(rows), Int(columns))
    }

    @discardableResult
    public static func setWindowSize(_ fd: Int32, rows: Int, columns: Int) -> Bool {
        keyway_set_window_size(fd, UInt16(clamping: rows), UInt16(clamping: columns)) == 0
    }

    /// Gives the terminal `to` the settings (line discipline, echo, control characters) of `from`.
    @discardableResult
    public static func copySettings(from: Int32, to: Int32) -> Bool { keyway_copy_terminal_settings(from, to) == 0 }

    /// Raw mode on `fd`, the previous settings kept for `restore` (one terminal at a time).
    @discardableResult
    public static func makeRaw(_ fd: Int32) -> Bool { keyway_terminal_make_raw(fd) == 0 }

    /// Puts back the settings `makeRaw` found (nothing when it was not called).
    public static func restore(_ fd: Int32) { _ = keyway_terminal_restore(fd) }
}

/// Signals reported through a pipe, so a `poll` loop sees them with its descriptors: `catch` installs the handler
/// (the signal is no longer ignored or at its default), `descriptor` is the pipe's read end (non-blocking).
package enum SignalPipe {
    public struct Report: Sendable, Equatable {
        public let signal: Int32
        /// Sent by the kernel (a terminal's ^C or hangup), not by a process's `kill`.
        public let fromKernel: Bool
    }

    public static func descriptor() throws(Errno) -> Int32 {
        let fd = keyway_signal_pipe()
        guard fd >= 0 else { throw .current }
        return fd
    }

    public static func `catch`(_ signal: Int32) throws(Errno) {
        guard keyway_signal_catch(signal) == 0 else { throw .current }
    }

    /// The signals reported since the last call.
    public static func reports() -> [Report] {
        guard let fd = try? descriptor() else { return [] }
        var result: [Report] = []
        var buffer = [UInt8](repeating: 0, count: 128)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            for i in stride(from: 0, to: n - 1, by: 2) {
                result.append(Report(signal: Int32(buffer[i]), fromKernel: buffer[i + 1] == 1))
            }
        }
        return result
    }
}

extension Sys {
    /// A pipe, both ends close-on-exec: `fds` receives the read and the write end.
    public static func pipe(_ fds: inout [Int32]) throws(Errno) {
        fds = [-1, -1]
        guard keyway_pipe2(&fds, O_CLOEXEC) == 0 else { throw .current }
    }
}

extension Sys {
    /// Asks for a pipe buffer of `bytes` (F_SETPIPE_SZ, Linux); false when refused (over /proc/sys/fs/pipe-max-size).
    @discardableResult
    public static func setPipeSize(_ fd: Int32, _ bytes: Int32) -> Bool {
        let F_SETPIPE_SZ: Int32 = 1031  // F_LINUX_SPECIFIC_BASE + 7, which Swift's Glibc module leaves out
        return fcntl(fd, F_SETPIPE_SZ, bytes) >= 0
    }
}
