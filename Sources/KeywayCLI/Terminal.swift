import Glibc
import Keyway

/// Reading a key from standard input or from the terminal without echo.
enum KeyInput {
    /// Reads all of standard input and removes one trailing newline (`\n` or `\r\n`). Reads at most a key's
    /// largest size and a line end: longer input is refused without reading the rest.
    static func fromStandardInput() throws(KeywayError) -> String {
        var bytes: [UInt8]
        let limit = APIKeyRules.maximumBytes + 2
        do { bytes = try Sys.readAll(0, limit: limit) } catch {
            throw KeywayError(.io, "Cannot read the API key from standard input: \(error).")
        }
        if bytes.count > limit { throw tooLong }
        if bytes.last == UInt8(ascii: "\n") {
            bytes.removeLast()
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw KeywayError(.invalidInput, "The API key on standard input is not valid UTF-8; nothing was stored.")
        }
        return text
    }

    /// Prompts on the controlling terminal with echo off, and restores the terminal even on SIGINT/SIGTERM/SIGHUP.
    static func fromTerminal(prompt: String) throws(KeywayError) -> String {
        let line = try bytesFromTerminal(
            prompt: prompt, noTerminalHint: "pass --api-key or give the key on standard input",
            limit: APIKeyRules.maximumBytes)
        if line.count > APIKeyRules.maximumBytes { throw tooLong }
        guard let text = String(validating: line, as: UTF8.self) else {
            throw KeywayError(.invalidInput, "The API key typed is not valid UTF-8; nothing was stored.")
        }
        return text
    }

    static let tooLong = KeywayError(.invalidInput, "The API key \(APIKeyRules.Violation.tooLong); nothing was stored.")

    /// The line typed at the terminal with echo off (or on, for an answer that is no secret), as bytes (without
    /// the newline), so a caller holding a secret can wipe them. `noTerminalHint` says what to do instead when there
    /// is no terminal. A line longer than `limit` is read to its end (so none of it is left for the shell), but no
    /// more than `limit + 2` bytes of it are kept.
    static func bytesFromTerminal(
        prompt: String, noTerminalHint: String, limit: Int = Int.max, echo: Bool = false
    ) throws(KeywayError) -> [UInt8] {
        let fd: Int32
        do { fd = try Sys.open("/dev/tty", O_RDWR | O_NOCTTY) } catch {
            throw KeywayError(.invalidInput, "No terminal to prompt on (\(error)); \(noTerminalHint).")
        }
        defer { Sys.close(fd) }
        var original = termios()
        guard tcgetattr(fd, &original) == 0 else {
            throw KeywayError(.io, "Cannot read the terminal settings: \(Errno.current).")
        }
        do { try Sys.writeAll(fd, Array(prompt.utf8)) } catch {
            throw KeywayError(.io, "Cannot write the prompt to the terminal: \(error).")
        }
        if !echo {
            var silent = original
            silent.c_lflag &= ~tcflag_t(ECHO | ECHONL)
            silent.c_lflag |= tcflag_t(ICANON)
            TerminalRestore.install(fd: fd, settings: original)
            guard tcsetattr(fd, TCSAFLUSH, &silent) == 0 else {
                let error = Errno.current
                TerminalRestore.restore()
                throw KeywayError(.io, "Cannot turn off terminal echo: \(error).")
            }
        }
        defer { if !echo { TerminalRestore.restore() } }
        var line: [UInt8] = []
        line.reserveCapacity(4096)  // no reallocation leaving copies of a typed secret behind
        var byte: UInt8 = 0
        while true {
            let n = read(fd, &byte, 1)
            if n < 0, errno == EINTR { continue }
            if n <= 0 || byte == UInt8(ascii: "\n") { break }
            if line.count - 1 <= limit { line.append(byte) }  // at most limit + 2 bytes: the key, a CR, one more
        }
        // The newline typed was not shown with echo off.
        if !echo { _ = try? Sys.writeAll(fd, Array("\n".utf8)) }
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        return line
    }
}

/// A yes-or-no question, asked only of a person: when standard input and standard error are terminals.
enum Confirmation {
    /// Whether the question can be asked here.
    static var canAsk: Bool { isatty(0) == 1 && isatty(2) == 1 }

    /// Asks `question` (ending in `[y/N] `) on the controlling terminal and reads one line with echo on, to its
    /// end (none of it is left for the shell); true only for `y` or `yes` (any case). No terminal, or anything else
    /// typed (or end of input), is no.
    static func ask(_ question: String) -> Bool {
        guard canAsk,
            let line = try? KeyInput.bytesFromTerminal(prompt: question, noTerminalHint: "", limit: 64, echo: true)
        else { return false }
        let answer = String(decoding: line.filter { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }, as: UTF8.self)
            .lowercased()
        return answer == "y" || answer == "yes"
    }
}

/// Saved terminal settings, restored by a signal handler if the prompt is interrupted.
enum TerminalRestore {
    nonisolated(unsafe) static var fd: Int32 = -1
    nonisolated(unsafe) static var settings = termios()
    /// The signals `install` caught: a signal ignored when the prompt began (`nohup`) stays ignored.
    nonisolated(unsafe) static var caught: [Int32] = []

    static func install(fd: Int32, settings: termios) {
        TerminalRestore.settings = settings
        TerminalRestore.fd = fd
        caught = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP].filter { ProcessStart.disposition($0) != .ignored }
        for signal in caught {
            Glibc.signal(signal) { received in
                if TerminalRestore.fd >= 0 { tcsetattr(TerminalRestore.fd, TCSAFLUSH, &TerminalRestore.settings) }
                Glibc.signal(received, SIG_DFL)
                raise(received)
            }
        }
    }

    static func restore() {
        guard fd >= 0 else { return }
        tcsetattr(fd, TCSAFLUSH, &settings)
        fd = -1
        for signal in caught { Glibc.signal(signal, SIG_DFL) }
        caught = []
    }
}
