// See include/CLibSecret.h. libsecret (and GLib, GIO, GObject with it) is reached through dlopen/dlsym only: no
// link-time dependency, and no GLib header needed to build (abi-check.c checks these declarations against them).
#define _GNU_SOURCE
#include "CLibSecret.h"
#include "functions.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

// Every function used, looked up once.
static struct {
#define FIELD_R(ret, name, parameters, arguments) ret(*name) parameters;
#define FIELD_V(name, parameters, arguments) void(*name) parameters;
#define FIELD(ret, name, parameters) ret(*name) parameters;
    KEYWAY_LIBSECRET_FORWARDED(FIELD_R, FIELD_V)
    KEYWAY_LIBSECRET_INTERNAL(FIELD)
#undef FIELD_R
#undef FIELD_V
#undef FIELD
} api;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[256];
static int loaded;

static void load_libsecret(void) {
    // RTLD_LAZY: libsecret brings GLib, GIO, GObject, libgcrypt and their own dependencies; binding only the symbols
    // used keeps the first call cheap (every function Keyway calls is looked up with dlsym below, so a missing one is
    // still an error here). dlsym on the handle searches libsecret's dependencies too (GLib's functions).
    void *library = dlopen("libsecret-1.so.0", RTLD_LAZY | RTLD_LOCAL);
    if (library == NULL) {
        const char *why = dlerror();
        snprintf(load_error, sizeof load_error, "%s", why != NULL ? why : "dlopen failed");
        return;
    }
#define LOOKUP(name)                                                                                               \
    do {                                                                                                           \
        *(void **)(&api.name) = dlsym(library, #name);                                                             \
        if (api.name == NULL) {                                                                                    \
            snprintf(load_error, sizeof load_error, "libsecret-1.so.0 (or the GLib it loads) has no %s", #name);   \
            return;                                                                                                \
        }                                                                                                          \
    } while (0);
#define LOOKUP_R(ret, name, parameters, arguments) LOOKUP(name)
#define LOOKUP_V(name, parameters, arguments) LOOKUP(name)
#define LOOKUP_F(ret, name, parameters) LOOKUP(name)
    KEYWAY_LIBSECRET_FORWARDED(LOOKUP_R, LOOKUP_V)
    KEYWAY_LIBSECRET_INTERNAL(LOOKUP_F)
#undef LOOKUP
#undef LOOKUP_R
#undef LOOKUP_V
#undef LOOKUP_F
    loaded = 1;
}

int keyway_libsecret_load(char *message, size_t message_size) {
    pthread_once(&load_once, load_libsecret);
    if (!loaded && message != NULL && message_size > 0) snprintf(message, message_size, "%s", load_error);
    return loaded;
}

#define FORWARD_R(ret, name, parameters, arguments)                                                                \
    ret keyway_##name parameters { return api.name arguments; }
#define FORWARD_V(name, parameters, arguments)                                                                     \
    void keyway_##name parameters { api.name arguments; }
KEYWAY_LIBSECRET_FORWARDED(FORWARD_R, FORWARD_V)
#undef FORWARD_R
#undef FORWARD_V

// GObject casts (G_DBUS_PROXY...) are plain pointer casts here: every pointer given is of the type named.
#define AS_PROXY(pointer) ((GDBusProxy *)(pointer))
#define VARIANT_TYPE(string) ((const GVariantType *)(string))

GHashTable *keyway_attributes_new(void) {
    return api.g_hash_table_new_full(api.g_str_hash, api.g_str_equal, api.g_free, api.g_free);
}

void keyway_attributes_set(GHashTable *table, const char *name, const char *value) {
    api.g_hash_table_replace(table, api.g_strdup(name), api.g_strdup(value));
}

const char *keyway_proxy_path(GObject *proxy) { return api.g_dbus_proxy_get_object_path(AS_PROXY(proxy)); }

gboolean keyway_proxy_has_owner(GObject *proxy) {
    gchar *owner = api.g_dbus_proxy_get_name_owner(AS_PROXY(proxy));
    gboolean has = owner != NULL;
    api.g_free(owner);
    return has;
}

GDBusConnection *keyway_proxy_connection(GObject *proxy) {
    return api.g_dbus_proxy_get_connection(AS_PROXY(proxy));
}

void keyway_unref(GObject *object) {
    if (object != NULL) api.g_object_unref(object);
}

GVariant *keyway_variant_string_tuple(const char *value) {
    GVariant *child = api.g_variant_new_string(value);
    return api.g_variant_new_tuple(&child, 1);
}

GQuark keyway_io_error_domain(void) { return api.g_io_error_quark(); }
GQuark keyway_secret_error_domain(void) { return api.secret_error_get_quark(); }

SecretValue *keyway_value_new(const char *bytes, gssize length) {
    return api.secret_value_new(bytes, length, "text/plain");
}

struct KeywayPendingCall {
    GVariant *reply;
    GError *error;
    gboolean done;
};

static void pending_call_done(GObject *source, GAsyncResult *result, gpointer data) {
    KeywayPendingCall *pending = (KeywayPendingCall *)data;
    pending->reply = api.g_dbus_connection_call_finish((GDBusConnection *)source, result, &pending->error);
    pending->done = 1;
}

KeywayPendingCall *keyway_call_begin(
    GMainContext *context, GDBusConnection *connection, const char *path, const char *interface, const char *method,
    GVariant *parameters, const char *reply_type, gint timeout_ms, GCancellable *cancellable) {
    KeywayPendingCall *pending = calloc(1, sizeof *pending);
    if (pending == NULL) abort();
    api.g_main_context_push_thread_default(context);
    api.g_dbus_connection_call(
        connection, "org.freedesktop.secrets", path, interface, method, parameters, VARIANT_TYPE(reply_type),
        KEYWAY_FLAGS_NONE, timeout_ms, cancellable, pending_call_done, pending);
    api.g_main_context_pop_thread_default(context);
    return pending;
}

GVariant *keyway_call_finish(GMainContext *context, KeywayPendingCall *pending, GError **error) {
    while (!pending->done) api.g_main_context_iteration(context, 1);
    GVariant *reply = pending->reply;
    if (pending->error != NULL) {
        // g_propagate_error
        if (error != NULL) *error = pending->error;
        else api.g_error_free(pending->error);
    }
    free(pending);
    return reply;
}

KeywayAsync *keyway_async_new(void) {
    KeywayAsync *call = calloc(1, sizeof *call);
    if (call == NULL) abort();
    return call;
}

void keyway_async_free(KeywayAsync *call) {
    if (call->result != NULL) api.g_object_unref(call->result);
    free(call);
}

static void async_done(GObject *source, GAsyncResult *result, gpointer data) {
    (void)source;
    KeywayAsync *call = (KeywayAsync *)data;
    call->result = (GAsyncResult *)api.g_object_ref(result);
    call->done = 1;
}

GAsyncReadyCallback keyway_async_callback(void) { return async_done; }

static gboolean async_expire(gpointer data) {
    ((KeywayAsync *)data)->expired = 1;
    return KEYWAY_G_SOURCE_REMOVE;
}

static void async_owner_changed(
    GDBusConnection *connection, const gchar *sender, const gchar *path, const gchar *interface, const gchar *signal,
    GVariant *parameters, gpointer data) {
    (void)connection; (void)sender; (void)path; (void)interface; (void)signal;
    const gchar *name = NULL, *old_owner = NULL, *new_owner = NULL;
    api.g_variant_get(parameters, "(&s&s&s)", &name, &old_owner, &new_owner);
    if (new_owner == NULL || new_owner[0] == '\0') ((KeywayAsync *)data)->provider_left = 1;
}

guint keyway_async_watch_provider(GMainContext *context, GDBusConnection *connection, KeywayAsync *call) {
    api.g_main_context_push_thread_default(context);
    guint id = api.g_dbus_connection_signal_subscribe(
        connection, "org.freedesktop.DBus", "org.freedesktop.DBus", "NameOwnerChanged", "/org/freedesktop/DBus",
        "org.freedesktop.secrets", KEYWAY_FLAGS_NONE, async_owner_changed, call, NULL);
    api.g_main_context_pop_thread_default(context);
    return id;
}

int keyway_async_wait(
    GMainContext *context, GDBusConnection *connection, guint watch, KeywayAsync *call, guint timeout_ms) {
    GSource *timer = api.g_timeout_source_new(timeout_ms);
    api.g_source_set_callback(timer, async_expire, call, NULL);
    api.g_source_attach(timer, context);
    while (!call->done && !call->expired && !call->provider_left) api.g_main_context_iteration(context, 1);
    api.g_source_destroy(timer);
    api.g_source_unref(timer);
    api.g_dbus_connection_signal_unsubscribe(connection, watch);
    if (call->done) return 0;
    return call->provider_left ? 2 : 1;
}

static void add_pair(gpointer name, gpointer value, gpointer builder) {
    api.g_variant_builder_add((GVariantBuilder *)builder, "{ss}", (const char *)name, (const char *)value);
}

GVariant *keyway_search_arguments(GHashTable *attributes) {
    GVariantBuilder *builder = api.g_variant_builder_new(VARIANT_TYPE("a{ss}"));
    api.g_hash_table_foreach(attributes, add_pair, builder);
    GVariant *dictionary = api.g_variant_builder_end(builder);
    api.g_variant_builder_unref(builder);
    return api.g_variant_new_tuple(&dictionary, 1);
}

gchar **keyway_reply_paths(GVariant *reply, gsize index) {
    GVariant *child = api.g_variant_get_child_value(reply, index);
    gchar **paths = api.g_variant_dup_objv(child, NULL);
    api.g_variant_unref(child);
    return paths;
}

gboolean keyway_properties_bool(GVariant *properties, const char *name, gboolean fallback) {
    gboolean value = fallback;
    if (!api.g_variant_lookup(properties, name, "b", &value)) return fallback;
    return value;
}

guint64 keyway_properties_uint64(GVariant *properties, const char *name) {
    guint64 value = 0;
    if (!api.g_variant_lookup(properties, name, "t", &value)) return 0;
    return value;
}

gchar *keyway_properties_string(GVariant *properties, const char *name) {
    gchar *value = NULL;
    if (!api.g_variant_lookup(properties, name, "s", &value)) return NULL;
    return value;
}

gchar **keyway_properties_paths(GVariant *properties, const char *name) {
    GVariant *value = api.g_variant_lookup_value(properties, name, VARIANT_TYPE("ao"));
    if (value == NULL) return api.g_malloc0(sizeof(gchar *));
    gchar **paths = api.g_variant_dup_objv(value, NULL);
    api.g_variant_unref(value);
    return paths;
}

gchar **keyway_properties_attributes(GVariant *properties, const char *name) {
    GVariant *value = api.g_variant_lookup_value(properties, name, VARIANT_TYPE("a{ss}"));
    if (value == NULL) return api.g_malloc0(sizeof(gchar *));
    gsize count = api.g_variant_n_children(value);
    gchar **vector = api.g_malloc0((2 * count + 1) * sizeof(gchar *));
    for (gsize i = 0; i < count; i++) api.g_variant_get_child(value, i, "{ss}", &vector[2 * i], &vector[2 * i + 1]);
    api.g_variant_unref(value);
    return vector;
}
