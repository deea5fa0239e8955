internal import CKeywayCurl
import Glibc
import KeywayCore
import Synchronization

// The one Swift file that sees the C shim (Backends/CCurl): requests and answers as Swift values; no pointer, no C
// error leaves it. libcurl itself is loaded by the shim at the first request (never at start-up).

/// TLS settings, as the `bao` and `vault` CLIs read them.
struct TLSSettings: Sendable, Equatable {
    var caFile: String?
    var caPath: String?
    var clientCert: String?
    var clientKey: String?
    /// `*_TLS_SERVER_NAME`: the name the certificate must carry (and the SNI sent), whatever the address says.
    var serverName: String?
    var skipVerify = false
}

struct HTTPRequest: Sendable {
    var method: String
    var url: String
    var headers: [String]
    var body: [UInt8]?
    /// The whole request, connecting included, in seconds.
    var timeout: Double
    var tls: TLSSettings
    /// `HOST:PORT:CONNECT-HOST:CONNECT-PORT` when a TLS server name differs from the address's host.
    var connectTo: String?
}

enum HTTPFailure: Sendable, Equatable {
    case noLibrary, unreachable, timeout, tls, other
}

enum HTTPOutcome: Sendable {
    case response(status: Int, body: [UInt8])
    /// What went wrong before an HTTP status was had, libcurl's (or dlerror's) words for it, and whether it
    /// happened after following a redirect (a standby pointing at an active node that is gone).
    case failure(HTTPFailure, String, redirected: Bool)
}

/// One libcurl handle (so connections stay open between the requests of one command), one request at a time.
final class HTTPClient: Sendable {
    private let handle = Mutex<Handle?>(nil)
    /// The largest answer accepted: a listing of many entries, far more than a key (64 KiB).
    static let maximumBody = 32 << 20

    private struct Handle: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
    }

    init() {}

    /// Starts loading libcurl in the background (see `keyway_http_preload`).
    static func preload() { keyway_http_preload() }

    /// Waits for that loading to end (see `keyway_http_finish_preload`).
    static func finishPreload() { keyway_http_finish_preload() }

    deinit {
        handle.withLock { held in
            if let held { keyway_http_client_free(held.pointer) }
        }
    }

    func perform(_ request: HTTPRequest) -> HTTPOutcome {
        handle.withLock { held -> HTTPOutcome in
            if held == nil {
                var message = [CChar](repeating: 0, count: 256)
                guard let pointer = keyway_http_client_new(&message, message.count) else {
                    return .failure(.noLibrary, Self.text(message), redirected: false)
                }
                held = Handle(pointer: pointer)
            }
            return Self.perform(request, on: held!.pointer)
        }
    }

    private static func perform(_ request: HTTPRequest, on pointer: UnsafeMutableRawPointer) -> HTTPOutcome {
        var response = keyway_http_response()
        defer { keyway_http_response_free(&response) }
        let failure = withCStrings(request.headers) { headers in
            withOptionalCStrings(
                [
                    request.tls.caFile, request.tls.caPath, request.tls.clientCert, request.tls.clientKey,
                    request.connectTo,
                ]
            ) { tls in
                request.method.withCString { method in
                    request.url.withCString { url in
                        (request.body ?? []).withUnsafeBufferPointer { body in
                            var c = keyway_http_request()
                            c.method = method
                            c.url = url
                            c.headers = headers.baseAddress
                            c.header_count = headers.count
                            c.body = request.body == nil ? nil : body.baseAddress
                            c.body_length = body.count
                            c.timeout_ms = max(1, Int(request.timeout * 1000))
                            c.ca_file = tls[0]
                            c.ca_path = tls[1]
                            c.client_cert = tls[2]
                            c.client_key = tls[3]
                            c.connect_to = tls[4]
                            c.skip_verify = request.tls.skipVerify ? 1 : 0
                            c.max_body = maximumBody
                            return keyway_http_perform(pointer, &c, &response)
                        }
                    }
                }
            }
        }
        let message = withUnsafeBytes(of: response.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        let redirected = response.redirects > 0
        switch Int(failure) {
        case Int(KEYWAY_HTTP_OK):
            let body =
                response.body.map { Array(UnsafeBufferPointer(start: $0, count: response.body_length)) } ?? []
            return .response(status: response.status, body: body)
        case Int(KEYWAY_HTTP_NO_LIBRARY): return .failure(.noLibrary, message, redirected: redirected)
        case Int(KEYWAY_HTTP_UNREACHABLE): return .failure(.unreachable, message, redirected: redirected)
        case Int(KEYWAY_HTTP_TIMEOUT): return .failure(.timeout, message, redirected: redirected)
        case Int(KEYWAY_HTTP_TLS): return .failure(.tls, message, redirected: redirected)
        default: return .failure(.other, message, redirected: redirected)
        }
    }

    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Calls `body` with C strings for `strings`, alive for the call.
private func withCStrings<R>(_ strings: [String], _ body: (UnsafeBufferPointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { for copy in copies { wipeAndFree(copy) } }
    let pointers = copies.map { UnsafePointer($0) }
    return pointers.withUnsafeBufferPointer(body)
}

private func withOptionalCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let copies = strings.map { $0.map { strdup($0) } ?? nil }
    defer { for copy in copies { wipeAndFree(copy) } }
    return body(copies.map { UnsafePointer($0) })
}

/// A header line holds the token: wiped before it is freed.
private func wipeAndFree(_ copy: UnsafeMutablePointer<CChar>?) {
    guard let copy else { return }
    keyway_http_wipe(copy, strlen(copy))
    free(copy)
}
