// The parts of libsecret, GIO and GLib that Keyway's Secret Service backend calls, plus small helpers for the C
// idioms Swift cannot express (variadic constructors, GObject casts, GVariant formats).
//
// Besides the stable API, the backend uses libsecret's D-Bus path functions (secret-paths.h: search, get secrets,
// unlock and delete by object path), which libsecret marks "subject to change" but has exported unchanged since 0.7:
// they let a lookup skip the proxy objects (and their extra D-Bus round trips) the object API creates per item.
#ifndef KEYWAY_CLIBSECRET_SHIM_H
#define KEYWAY_CLIBSECRET_SHIM_H

#define SECRET_API_SUBJECT_TO_CHANGE 1
#include <libsecret/secret.h>
#include <gio/gio.h>
#include <string.h>

/// A string -> string hash table that owns copies of its keys and values, as libsecret's attribute tables are.
static inline GHashTable *keyway_attributes_new(void) {
    return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

static inline void keyway_attributes_set(GHashTable *table, const char *name, const char *value) {
    g_hash_table_replace(table, g_strdup(name), g_strdup(value));
}

/// The D-Bus object path of any libsecret proxy (service, collection, item).
static inline const char *keyway_proxy_path(gpointer proxy) {
    return g_dbus_proxy_get_object_path(G_DBUS_PROXY(proxy));
}

/// Whether the name a proxy talks to had an owner when the proxy was made (or since): GDBus follows it.
static inline gboolean keyway_proxy_has_owner(gpointer proxy) {
    gchar *owner = g_dbus_proxy_get_name_owner(G_DBUS_PROXY(proxy));
    gboolean has = owner != NULL;
    g_free(owner);
    return has;
}

static inline void keyway_unref(gpointer object) {
    if (object != NULL) g_object_unref(object);
}

/// `(s)`: a one-string argument tuple for a D-Bus call.
static inline GVariant *keyway_variant_string_tuple(const char *value) {
    GVariant *child = g_variant_new_string(value);
    return g_variant_new_tuple(&child, 1);
}

static inline GQuark keyway_io_error_domain(void) { return G_IO_ERROR; }
static inline GQuark keyway_dbus_error_domain(void) { return G_DBUS_ERROR; }
static inline GQuark keyway_secret_error_domain(void) { return SECRET_ERROR; }

/// A text secret value (copied by libsecret into its secure memory).
static inline SecretValue *keyway_value_new(const char *bytes, gssize length) {
    return secret_value_new(bytes, length, "text/plain");
}

/// The D-Bus connection a libsecret proxy talks over (not a new reference).
static inline GDBusConnection *keyway_proxy_connection(gpointer proxy) {
    return g_dbus_proxy_get_connection(G_DBUS_PROXY(proxy));
}

/// A D-Bus call to the Secret Service in flight (see keyway_call_begin). Its reply is delivered to the main context
/// the caller gives (Keyway's session has a private one, shared by all its calls: no file descriptor per call), so it
/// never runs on (or waits for) a main loop of the program embedding Keyway.
typedef struct {
    GVariant *reply;
    GError *error;
    gboolean done;
} KeywayPendingCall;

static void keyway_pending_call_done(GObject *source, GAsyncResult *result, gpointer data) {
    KeywayPendingCall *pending = (KeywayPendingCall *)data;
    pending->reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &pending->error);
    pending->done = TRUE;
}

/// Sends `interface.method(parameters)` to `path` of the Secret Service without waiting for the reply, so that other
/// calls (or work) can proceed meanwhile; the reply is dispatched on `context`. `parameters` is consumed if floating;
/// `reply_type` is a GVariant type string the reply must have. Every call begun must be finished, exactly once, with
/// keyway_call_finish on the same context (which frees it); `timeout_ms` and `cancellable` bound it as for a sync call.
static inline KeywayPendingCall *keyway_call_begin(
    GMainContext *context, GDBusConnection *connection, const char *path, const char *interface, const char *method,
    GVariant *parameters, const char *reply_type, gint timeout_ms, GCancellable *cancellable) {
    KeywayPendingCall *pending = g_new0(KeywayPendingCall, 1);
    g_main_context_push_thread_default(context);
    g_dbus_connection_call(
        connection, "org.freedesktop.secrets", path, interface, method, parameters, G_VARIANT_TYPE(reply_type),
        G_DBUS_CALL_FLAGS_NONE, timeout_ms, cancellable, keyway_pending_call_done, pending);
    g_main_context_pop_thread_default(context);
    return pending;
}

/// Waits for a call begun with keyway_call_begin (running `context`, which may complete other calls of the same
/// context meanwhile) and frees it: the reply tuple (a new reference), or NULL with `error` set.
static inline GVariant *keyway_call_finish(GMainContext *context, KeywayPendingCall *pending, GError **error) {
    while (!pending->done) g_main_context_iteration(context, TRUE);
    GVariant *reply = pending->reply;
    if (pending->error != NULL) g_propagate_error(error, pending->error);
    g_free(pending);
    return reply;
}

/// A libsecret asynchronous call Keyway waits for with its own bound (see keyway_async_wait): the calls that may show
/// a prompt, which libsecret's synchronous forms wait for with no limit (CreateItem is sent with no timeout, and a
/// prompt that never sends `Completed`, even after `Dismiss`, is waited for forever).
typedef struct {
    GAsyncResult *result;
    gboolean done;
    gboolean provider_left;
    gboolean expired;
} KeywayAsync;

static inline KeywayAsync *keyway_async_new(void) { return g_new0(KeywayAsync, 1); }

/// Frees a call that completed. A call abandoned (timed out, or the provider left) is never freed: libsecret may still
/// hold the pointer as its callback's data.
static inline void keyway_async_free(KeywayAsync *call) {
    if (call->result != NULL) g_object_unref(call->result);
    g_free(call);
}

static void keyway_async_done(GObject *source, GAsyncResult *result, gpointer data) {
    (void)source;
    KeywayAsync *call = (KeywayAsync *)data;
    call->result = (GAsyncResult *)g_object_ref(result);
    call->done = TRUE;
}

static inline GAsyncReadyCallback keyway_async_callback(void) { return keyway_async_done; }

static gboolean keyway_async_expire(gpointer data) {
    ((KeywayAsync *)data)->expired = TRUE;
    return G_SOURCE_REMOVE;
}

static void keyway_async_owner_changed(
    GDBusConnection *connection, const gchar *sender, const gchar *path, const gchar *interface, const gchar *signal,
    GVariant *parameters, gpointer data) {
    (void)connection; (void)sender; (void)path; (void)interface; (void)signal;
    const gchar *name = NULL, *old_owner = NULL, *new_owner = NULL;
    g_variant_get(parameters, "(&s&s&s)", &name, &old_owner, &new_owner);
    if (new_owner == NULL || new_owner[0] == '\0') ((KeywayAsync *)data)->provider_left = TRUE;
}

/// Watches `org.freedesktop.secrets` on `connection`: the returned subscription (pass it to keyway_async_wait) marks
/// `call` when the name loses its owner. Subscribe before starting the call, with `context` the thread default.
static inline guint keyway_async_watch_provider(GMainContext *context, GDBusConnection *connection, KeywayAsync *call) {
    g_main_context_push_thread_default(context);
    guint id = g_dbus_connection_signal_subscribe(
        connection, "org.freedesktop.DBus", "org.freedesktop.DBus", "NameOwnerChanged", "/org/freedesktop/DBus",
        "org.freedesktop.secrets", G_DBUS_SIGNAL_FLAGS_NONE, keyway_async_owner_changed, call, NULL);
    g_main_context_pop_thread_default(context);
    return id;
}

/// Runs `context` until `call` completes, `timeout_ms` pass, or the provider leaves the bus; then ends the watch.
/// Returns 0 when the call completed, 1 when the time ran out, 2 when the provider left.
static inline int keyway_async_wait(
    GMainContext *context, GDBusConnection *connection, guint watch, KeywayAsync *call, guint timeout_ms) {
    GSource *timer = g_timeout_source_new(timeout_ms);
    g_source_set_callback(timer, keyway_async_expire, call, NULL);
    g_source_attach(timer, context);
    while (!call->done && !call->expired && !call->provider_left) g_main_context_iteration(context, TRUE);
    g_source_destroy(timer);
    g_source_unref(timer);
    g_dbus_connection_signal_unsubscribe(connection, watch);
    if (call->done) return 0;
    return call->provider_left ? 2 : 1;
}

/// `(a{ss})`: the argument of Service.SearchItems, from an attribute table.
static inline GVariant *keyway_search_arguments(GHashTable *attributes) {
    GVariantBuilder builder;
    g_variant_builder_init(&builder, G_VARIANT_TYPE("a{ss}"));
    GHashTableIter iter;
    gpointer name, value;
    g_hash_table_iter_init(&iter, attributes);
    while (g_hash_table_iter_next(&iter, &name, &value))
        g_variant_builder_add(&builder, "{ss}", (const char *)name, (const char *)value);
    return g_variant_new("(a{ss})", &builder);
}

/// The object paths of child `index` (an `ao`) of a reply tuple, NULL-terminated (free with g_strfreev).
static inline gchar **keyway_reply_paths(GVariant *reply, gsize index) {
    GVariant *child = g_variant_get_child_value(reply, index);
    gchar **paths = g_variant_dup_objv(child, NULL);
    g_variant_unref(child);
    return paths;
}

/// A boolean property of an `a{sv}`, or `fallback` when it is missing or of another type.
static inline gboolean keyway_properties_bool(GVariant *properties, const char *name, gboolean fallback) {
    gboolean value = fallback;
    if (!g_variant_lookup(properties, name, "b", &value)) return fallback;
    return value;
}

/// A `t` (uint64) property of an `a{sv}`, or 0.
static inline guint64 keyway_properties_uint64(GVariant *properties, const char *name) {
    guint64 value = 0;
    if (!g_variant_lookup(properties, name, "t", &value)) return 0;
    return value;
}

/// A string property of an `a{sv}` (free with g_free), or NULL.
static inline gchar *keyway_properties_string(GVariant *properties, const char *name) {
    gchar *value = NULL;
    if (!g_variant_lookup(properties, name, "s", &value)) return NULL;
    return value;
}

/// An `ao` property of an `a{sv}` (a collection's Items, the service's Collections), NULL-terminated (free with
/// g_strfreev); an empty vector when missing or of another type.
static inline gchar **keyway_properties_paths(GVariant *properties, const char *name) {
    GVariant *value = g_variant_lookup_value(properties, name, G_VARIANT_TYPE_OBJECT_PATH_ARRAY);
    if (value == NULL) return g_new0(gchar *, 1);
    gchar **paths = g_variant_dup_objv(value, NULL);
    g_variant_unref(value);
    return paths;
}

/// An `a{ss}` property of an `a{sv}` as an attribute table (empty when missing); free with g_hash_table_unref.
static inline GHashTable *keyway_properties_attributes(GVariant *properties, const char *name) {
    GHashTable *table = keyway_attributes_new();
    GVariantIter *iter = NULL;
    const gchar *key = NULL, *value = NULL;
    if (g_variant_lookup(properties, name, "a{ss}", &iter)) {
        while (g_variant_iter_loop(iter, "{&s&s}", &key, &value)) keyway_attributes_set(table, key, value);
        g_variant_iter_free(iter);
    }
    return table;
}

#endif
