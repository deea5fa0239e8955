#ifndef KEYWAY_CURL_H
#define KEYWAY_CURL_H

// One HTTP request through libcurl, for the OpenBao backend only (Backends/OpenBao/HTTP.swift is its one caller).
//
// libcurl is not linked: the first request dlopen()s libcurl.so.4 and dlsym()s the few functions used, so a keyway
// process that never talks to an OpenBao server (every other backend, every other command) never loads it.
// curl.h is included by curl.c only (types and constants); this header uses C's own types, so nothing of libcurl
// reaches Swift. Response bodies are kept in memory that is wiped before it is freed (it may hold a key).

#include <stddef.h>

/// What went wrong before an HTTP status was had.
enum {
    KEYWAY_HTTP_OK = 0,
    /// libcurl.so.4 could not be loaded (or lacks a function); `message` has dlerror's text.
    KEYWAY_HTTP_NO_LIBRARY = 1,
    /// Could not resolve or connect (refused, no route).
    KEYWAY_HTTP_UNREACHABLE = 2,
    /// The time allowed ran out (connecting, or waiting for the answer).
    KEYWAY_HTTP_TIMEOUT = 3,
    /// TLS: the server's certificate did not verify, a wrong name, an unreadable CA/client certificate, a failed
    /// handshake.
    KEYWAY_HTTP_TLS = 4,
    /// Anything else (the answer was cut, too large, a bad URL...).
    KEYWAY_HTTP_OTHER = 5,
};

typedef struct keyway_http_request {
    const char *method;            // GET, POST, DELETE, LIST
    const char *url;
    const char *const *headers;    // "Name: value" lines
    size_t header_count;
    const unsigned char *body;     // nil for none
    size_t body_length;
    long timeout_ms;               // the whole request, connecting included
    const char *ca_file;           // nil: the system's
    const char *ca_path;
    const char *client_cert;
    const char *client_key;
    const char *connect_to;        // "HOST:PORT:CONNECT-HOST:CONNECT-PORT" (CURLOPT_CONNECT_TO) or nil
    int skip_verify;               // 1: no TLS verification (only when the user asked)
    size_t max_body;               // a longer answer fails with KEYWAY_HTTP_OTHER
} keyway_http_request;

typedef struct keyway_http_response {
    int failure;                   // KEYWAY_HTTP_*
    long status;                   // the HTTP status when failure == KEYWAY_HTTP_OK
    long redirects;                // redirects followed (a standby's 307 to the active node), also on failure
    unsigned char *body;           // owned; free with keyway_http_response_free
    size_t body_length;
    char message[256];             // libcurl's or dlerror's text on failure
} keyway_http_response;

/// An opaque client (one libcurl easy handle: connections are kept alive between its requests). Nil when libcurl
/// cannot be loaded; `message` (at least 256 bytes) then says why. Not thread-safe: one request at a time.
void *keyway_http_client_new(char *message, size_t message_size);
/// Starts loading libcurl on a thread of its own, so that the loading overlaps the caller's other work; the first
/// `keyway_http_client_new` waits for it. Once per process; called only when a request is likely to follow.
void keyway_http_preload(void);
/// Waits until the loading `keyway_http_preload` started is over (at once if none is under way): call it before
/// exit(), which must not tear libraries down under a thread still loading them. Also registered with atexit, as a
/// backstop that runs after any exit handler a library registered while loading (see curl.c).
void keyway_http_finish_preload(void);
void keyway_http_client_free(void *client);

/// Performs the request; the response's `failure` says whether it got an HTTP status. Returns `failure`.
int keyway_http_perform(void *client, const keyway_http_request *request, keyway_http_response *response);
/// explicit_bzero(3): wipes a copy of a token or request before it is freed.
void keyway_http_wipe(void *bytes, size_t count);
/// Wipes and frees the response body.
void keyway_http_response_free(keyway_http_response *response);

#endif
