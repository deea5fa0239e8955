// See include/CKeywayCurl.h. libcurl is reached through dlopen/dlsym only: no link-time dependency.
#define _GNU_SOURCE
#include "CKeywayCurl.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef CURLcode (*global_init_fn)(long);
typedef CURL *(*easy_init_fn)(void);
typedef CURLcode (*easy_setopt_fn)(CURL *, CURLoption, ...);
typedef CURLcode (*easy_perform_fn)(CURL *);
typedef CURLcode (*easy_getinfo_fn)(CURL *, CURLINFO, ...);
typedef void (*easy_cleanup_fn)(CURL *);
typedef void (*easy_reset_fn)(CURL *);
typedef const char *(*easy_strerror_fn)(CURLcode);
typedef struct curl_slist *(*slist_append_fn)(struct curl_slist *, const char *);
typedef void (*slist_free_all_fn)(struct curl_slist *);

static struct {
    global_init_fn global_init;
    easy_init_fn easy_init;
    easy_setopt_fn easy_setopt;
    easy_perform_fn easy_perform;
    easy_getinfo_fn easy_getinfo;
    easy_cleanup_fn easy_cleanup;
    easy_reset_fn easy_reset;
    easy_strerror_fn easy_strerror;
    slist_append_fn slist_append;
    slist_free_all_fn slist_free_all;
} curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[256];
static int loaded;

static void load_curl(void) {
    // RTLD_LAZY: libcurl pulls in some 28 libraries; binding only the symbols used keeps the first request cheap (every
    // function Keyway calls is looked up with dlsym below, so a missing one is still an error here).
    void *library = dlopen("libcurl.so.4", RTLD_LAZY | RTLD_LOCAL);
    if (library == NULL) {
        snprintf(load_error, sizeof load_error, "%s", dlerror());
        return;
    }
#define LOAD(field, name)                                                                                          \
    do {                                                                                                           \
        *(void **)(&curl.field) = dlsym(library, name);                                                            \
        if (curl.field == NULL) {                                                                                  \
            snprintf(load_error, sizeof load_error, "libcurl.so.4 has no %s", name);                              \
            return;                                                                                                \
        }                                                                                                          \
    } while (0)
    LOAD(global_init, "curl_global_init");
    LOAD(easy_init, "curl_easy_init");
    LOAD(easy_setopt, "curl_easy_setopt");
    LOAD(easy_perform, "curl_easy_perform");
    LOAD(easy_getinfo, "curl_easy_getinfo");
    LOAD(easy_cleanup, "curl_easy_cleanup");
    LOAD(easy_reset, "curl_easy_reset");
    LOAD(easy_strerror, "curl_easy_strerror");
    LOAD(slist_append, "curl_slist_append");
    LOAD(slist_free_all, "curl_slist_free_all");
#undef LOAD
    if (curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(load_error, sizeof load_error, "curl_global_init failed");
        return;
    }
    loaded = 1;
}

static void *preload_thread(void *unused) {
    (void)unused;
    pthread_once(&load_once, load_curl);
    return NULL;
}

// The preload thread is joined, never detached: a command that fails before its first request (a refused secret id
// file, say) calls exit() while the thread may still be inside dlopen or curl_global_init, and exit() then runs the
// exit handlers and destructors of libraries the thread is still loading or initialising (a crash, SIGSEGV, in 8 of
// 300 runs of an early error). `keyway_http_finish_preload` waits for the thread: the CLI calls it before every
// exit(). exit() handlers run newest first, and one a library registers while loading (OpenSSL's OPENSSL_cleanup,
// inside curl_global_init) is newer than any registered before the thread started, so the atexit handler below is
// only a backstop for a program that exits without calling it. Loading does not touch the network: the wait is
// bounded (a few milliseconds).
static pthread_once_t preload_once = PTHREAD_ONCE_INIT;
static pthread_t preload_handle;
static atomic_int preload_started;

void keyway_http_finish_preload(void) {
    // Whoever takes the flag joins; any other caller (another thread, the atexit handler after an explicit call)
    // finds nothing left to wait for.
    if (atomic_exchange(&preload_started, 0)) (void)pthread_join(preload_handle, NULL);
}

static void start_preload(void) {
    // Without the handler the thread must not start: the first request loads libcurl itself.
    if (atexit(keyway_http_finish_preload) != 0) return;
    if (pthread_create(&preload_handle, NULL, preload_thread, NULL) == 0) atomic_store(&preload_started, 1);
}

void keyway_http_preload(void) { pthread_once(&preload_once, start_preload); }

void *keyway_http_client_new(char *message, size_t message_size) {
    pthread_once(&load_once, load_curl);
    if (!loaded) {
        snprintf(message, message_size, "%s", load_error);
        return NULL;
    }
    CURL *handle = curl.easy_init();
    if (handle == NULL) snprintf(message, message_size, "curl_easy_init failed");
    return handle;
}

void keyway_http_client_free(void *client) {
    if (client != NULL && loaded) curl.easy_cleanup((CURL *)client);
}

struct sink {
    unsigned char *data;
    size_t length;
    size_t capacity;
    size_t limit;
    int overflow;
};

static void wipe_free(unsigned char *data, size_t capacity) {
    if (data == NULL) return;
    explicit_bzero(data, capacity);
    free(data);
}

static size_t write_body(char *chunk, size_t size, size_t count, void *context) {
    struct sink *sink = context;
    size_t bytes = size * count;
    if (bytes > sink->limit - sink->length) {
        sink->overflow = 1;
        return 0;  // makes curl stop with CURLE_WRITE_ERROR
    }
    if (sink->length + bytes > sink->capacity) {
        size_t capacity = sink->capacity ? sink->capacity : 4096;
        while (capacity < sink->length + bytes) capacity *= 2;
        // Not realloc: the old block may hold a key and must be wiped.
        unsigned char *grown = malloc(capacity);
        if (grown == NULL) {
            sink->overflow = 1;
            return 0;
        }
        if (sink->length) memcpy(grown, sink->data, sink->length);
        wipe_free(sink->data, sink->capacity);
        sink->data = grown;
        sink->capacity = capacity;
    }
    memcpy(sink->data + sink->length, chunk, bytes);
    sink->length += bytes;
    return bytes;
}

static int classify(CURLcode code) {
    switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        return KEYWAY_HTTP_UNREACHABLE;
    case CURLE_OPERATION_TIMEDOUT:
        return KEYWAY_HTTP_TIMEOUT;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
        return KEYWAY_HTTP_TLS;
    default:
        return KEYWAY_HTTP_OTHER;
    }
}

int keyway_http_perform(void *client, const keyway_http_request *request, keyway_http_response *response) {
    memset(response, 0, sizeof *response);
    if (client == NULL || !loaded) {
        response->failure = KEYWAY_HTTP_NO_LIBRARY;
        snprintf(response->message, sizeof response->message, "libcurl is not loaded");
        return response->failure;
    }
    CURL *handle = client;
    curl.easy_reset(handle);  // keeps the connection cache
    struct curl_slist *headers = NULL;
    for (size_t i = 0; i < request->header_count; i++) {
        struct curl_slist *next = curl.slist_append(headers, request->headers[i]);
        if (next == NULL) {
            curl.slist_free_all(headers);
            response->failure = KEYWAY_HTTP_OTHER;
            snprintf(response->message, sizeof response->message, "out of memory");
            return response->failure;
        }
        headers = next;
    }
    struct curl_slist *connect_to = NULL;
    if (request->connect_to != NULL) connect_to = curl.slist_append(NULL, request->connect_to);
    struct sink sink = {.limit = request->max_body};
    char error[CURL_ERROR_SIZE];
    error[0] = 0;

    curl.easy_setopt(handle, CURLOPT_URL, request->url);
    curl.easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl.easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
    // A redirect never downgrades https to http (the token would then travel in clear).
    curl.easy_setopt(handle, CURLOPT_REDIR_PROTOCOLS_STR,
                     strncmp(request->url, "https:", 6) == 0 ? "https" : "http,https");
    // A standby answers 307 to the active node; a POST stays a POST.
    curl.easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 1L);
    curl.easy_setopt(handle, CURLOPT_MAXREDIRS, 3L);
    curl.easy_setopt(handle, CURLOPT_POSTREDIR, (long)CURL_REDIR_POST_ALL);
    curl.easy_setopt(handle, CURLOPT_TIMEOUT_MS, request->timeout_ms);
    curl.easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, request->timeout_ms);
    curl.easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
    curl.easy_setopt(handle, CURLOPT_ERRORBUFFER, error);
    curl.easy_setopt(handle, CURLOPT_WRITEFUNCTION, write_body);
    curl.easy_setopt(handle, CURLOPT_WRITEDATA, &sink);
    if (strcmp(request->method, "POST") == 0) {
        curl.easy_setopt(handle, CURLOPT_POST, 1L);
        curl.easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)request->body_length);
        curl.easy_setopt(handle, CURLOPT_POSTFIELDS, request->body ? (const char *)request->body : "");
    } else if (strcmp(request->method, "GET") != 0) {
        curl.easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request->method);
    }
    long verify = request->skip_verify ? 0L : 1L;
    curl.easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, verify);
    curl.easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, request->skip_verify ? 0L : 2L);
    if (request->ca_file) curl.easy_setopt(handle, CURLOPT_CAINFO, request->ca_file);
    if (request->ca_path) curl.easy_setopt(handle, CURLOPT_CAPATH, request->ca_path);
    if (request->client_cert) curl.easy_setopt(handle, CURLOPT_SSLCERT, request->client_cert);
    if (request->client_key) curl.easy_setopt(handle, CURLOPT_SSLKEY, request->client_key);
    if (connect_to) curl.easy_setopt(handle, CURLOPT_CONNECT_TO, connect_to);

    CURLcode code = curl.easy_perform(handle);
    long redirects = 0;
    curl.easy_getinfo(handle, CURLINFO_REDIRECT_COUNT, &redirects);
    response->redirects = redirects;
    curl.slist_free_all(headers);
    if (connect_to) curl.slist_free_all(connect_to);
    if (code != CURLE_OK) {
        response->failure = sink.overflow ? KEYWAY_HTTP_OTHER : classify(code);
        if (sink.overflow) {
            snprintf(response->message, sizeof response->message, "the answer is larger than %zu bytes",
                     request->max_body);
        } else if (code == CURLE_UNSUPPORTED_PROTOCOL && redirects > 0 && strncmp(request->url, "https:", 6) == 0) {
            // The only protocol refused after a redirect from https is plain http (see CURLOPT_REDIR_PROTOCOLS_STR).
            snprintf(response->message, sizeof response->message,
                     "the server redirected the request to a plain http:// address, which Keyway does not follow "
                     "from https (the token would travel unencrypted)");
        } else {
            snprintf(response->message, sizeof response->message, "%s", error[0] ? error : curl.easy_strerror(code));
        }
        wipe_free(sink.data, sink.capacity);
        return response->failure;
    }
    long status = 0;
    curl.easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
    response->status = status;
    response->body = sink.data;
    response->body_length = sink.length;
    // The capacity is needed to wipe it all: keep it past the end of the used part by wiping the slack now.
    if (sink.data && sink.capacity > sink.length) explicit_bzero(sink.data + sink.length, sink.capacity - sink.length);
    return KEYWAY_HTTP_OK;
}

void keyway_http_response_free(keyway_http_response *response) {
    if (response->body != NULL) {
        explicit_bzero(response->body, response->body_length);
        free(response->body);
    }
    response->body = NULL;
    response->body_length = 0;
}

void keyway_http_wipe(void *bytes, size_t count) {
    if (bytes != NULL) explicit_bzero(bytes, count);
}
