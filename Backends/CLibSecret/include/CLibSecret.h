#ifndef KEYWAY_CLIBSECRET_H
#define KEYWAY_CLIBSECRET_H

// The parts of libsecret, GIO and GLib that Keyway's Secret Service backend calls, plus small helpers for the C
// idioms Swift cannot express (variadic functions, GObject casts, GVariant formats).
//
// libsecret is not linked: `keyway_libsecret_load` dlopen()s libsecret-1.so.0 (which brings GLib, GIO and GObject
// with it) the first time a command opens the Secret Service store, and dlsym()s every function used, so a keyway
// process that never opens it (every other backend, every other command) never loads them. Calling any other
// function of this header before `keyway_libsecret_load` succeeded is a bug.
//
// No GLib header is needed to build: the few types and constants used are declared here, in GLib's own names, and
// `abi-check.c` (compiled by SecretServiceBackendTests' LibSecretABITests with `pkg-config --cflags libsecret-1`)
// checks every declaration against the real headers: each function's type, GError's layout, each constant.
//
// Besides the stable API, the backend uses libsecret's D-Bus path functions (secret-paths.h: search, get secrets,
// unlock and delete by object path), which libsecret marks "subject to change" but has exported unchanged since 0.7:
// they let a lookup skip the proxy objects (and their extra D-Bus round trips) the object API creates per item.

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

// GLib's basic types (glib/gtypes.h, glibconfig.h), as GLib defines them on Linux.
typedef char gchar;
typedef int gint;
typedef gint gboolean;
typedef unsigned int guint;
typedef uint32_t guint32;
typedef uint64_t guint64;
typedef size_t gsize;
typedef ssize_t gssize;
typedef void *gpointer;
typedef const void *gconstpointer;
typedef guint32 GQuark;
typedef gsize GType;

/// GError's public fields (glib/gerror.h); abi-check.c checks the layout.
#define KEYWAY_GERROR_FIELDS                                                                                       \
    GQuark domain;                                                                                                 \
    gint code;                                                                                                     \
    gchar *message;
#ifndef __G_ERROR_H__
struct _GError {
    KEYWAY_GERROR_FIELDS
};
#endif
typedef struct _GError GError;

// Opaque to Keyway.
typedef struct _GObject GObject;
typedef struct _GVariant GVariant;
typedef struct _GVariantType GVariantType;
typedef struct _GHashTable GHashTable;
typedef struct _GMainContext GMainContext;
typedef struct _GCancellable GCancellable;
typedef struct _GAsyncResult GAsyncResult;
typedef struct _GDBusConnection GDBusConnection;
typedef struct _GDBusAuthObserver GDBusAuthObserver;
typedef struct _SecretService SecretService;
typedef struct _SecretCollection SecretCollection;
typedef struct _SecretItem SecretItem;
typedef struct _SecretValue SecretValue;
#ifndef __SECRET_SCHEMA_H__
typedef struct _KeywaySecretSchema SecretSchema;  // always NULL here
#endif
typedef void (*GAsyncReadyCallback)(GObject *source_object, GAsyncResult *res, gpointer user_data);

// The enumeration values used (abi-check.c checks each against GLib's and libsecret's).
#define KEYWAY_G_BUS_TYPE_SESSION 2
#define KEYWAY_G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT 1u
#define KEYWAY_G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION 8u
#define KEYWAY_G_IO_ERROR_CANCELLED 19
#define KEYWAY_G_IO_ERROR_TIMED_OUT 24
#define KEYWAY_SECRET_ERROR_IS_LOCKED 2
/// SECRET_SERVICE_NONE, SECRET_COLLECTION_NONE, SECRET_ITEM_CREATE_NONE, G_DBUS_CALL_FLAGS_NONE.
#define KEYWAY_FLAGS_NONE 0u

/// Loads libsecret-1.so.0 and looks up every function this header's callers need, once per process (later calls
/// return the first outcome). Returns 1 when loaded; 0 with `message` (at least 256 bytes) saying why not
/// (dlerror's text, or the function missing).
int keyway_libsecret_load(char *message, size_t message_size);

// The functions Swift calls, each forwarding to the function of the same name without `keyway_` looked up by
// `keyway_libsecret_load`. R: returns a value; V: returns nothing. (ret, name, parameters, arguments)
#define KEYWAY_LIBSECRET_FORWARDED(R, V)                                                                           \
    V(g_free, (gpointer mem), (mem))                                                                               \
    R(gpointer, g_malloc0, (gsize n_bytes), (n_bytes))                                                             \
    R(gchar *, g_strdup, (const gchar *str), (str))                                                                \
    V(g_strfreev, (gchar * *str_array), (str_array))                                                               \
    V(g_error_free, (GError * error), (error))                                                                     \
    V(g_object_unref, (gpointer object), (object))                                                                 \
    V(g_hash_table_unref, (GHashTable * hash_table), (hash_table))                                                 \
    R(gpointer, g_hash_table_lookup, (GHashTable * hash_table, gconstpointer key), (hash_table, key))             \
    V(g_variant_unref, (GVariant * value), (value))                                                                \
    R(GVariant *, g_variant_ref, (GVariant * value), (value))                                                      \
    R(GVariant *, g_variant_get_child_value, (GVariant * value, gsize index_), (value, index_))                    \
    R(const gchar *, g_variant_get_type_string, (GVariant * value), (value))                                       \
    R(const gchar **, g_variant_get_strv, (GVariant * value, gsize * length), (value, length))                     \
    R(gboolean, g_variant_get_boolean, (GVariant * value), (value))                                                \
    R(GCancellable *, g_cancellable_new, (void), ())                                                               \
    V(g_cancellable_cancel, (GCancellable * cancellable), (cancellable))                                           \
    R(GMainContext *, g_main_context_new, (void), ())                                                              \
    V(g_main_context_unref, (GMainContext * context), (context))                                                   \
    V(g_main_context_push_thread_default, (GMainContext * context), (context))                                     \
    V(g_main_context_pop_thread_default, (GMainContext * context), (context))                                      \
    R(gchar *, g_dbus_error_get_remote_error, (const GError *error), (error))                                      \
    R(gboolean, g_dbus_error_strip_remote_error, (GError * error), (error))                                        \
    R(GDBusConnection *, g_bus_get_sync, (gint bus_type, GCancellable * cancellable, GError * *error),             \
      (bus_type, cancellable, error))                                                                              \
    R(GDBusConnection *, g_dbus_connection_new_for_address_sync,                                                   \
      (const gchar *address, guint flags, GDBusAuthObserver *observer, GCancellable *cancellable, GError **error), \
      (address, flags, observer, cancellable, error))                                                              \
    R(gboolean, g_dbus_connection_close_sync,                                                                      \
      (GDBusConnection * connection, GCancellable * cancellable, GError * *error), (connection, cancellable, error)) \
    R(GVariant *, g_dbus_connection_call_sync,                                                                     \
      (GDBusConnection * connection, const gchar *bus_name, const gchar *object_path, const gchar *interface_name, \
       const gchar *method_name, GVariant *parameters, const GVariantType *reply_type, guint flags,                \
       gint timeout_msec, GCancellable *cancellable, GError **error),                                              \
      (connection, bus_name, object_path, interface_name, method_name, parameters, reply_type, flags,              \
       timeout_msec, cancellable, error))                                                                          \
    R(GType, secret_service_get_type, (void), ())                                                                  \
    R(SecretService *, secret_service_open_sync,                                                                   \
      (GType service_gtype, const gchar *service_bus_name, guint flags, GCancellable *cancellable, GError **error), \
      (service_gtype, service_bus_name, flags, cancellable, error))                                                \
    R(gboolean, secret_service_ensure_session_sync,                                                                \
      (SecretService * self, GCancellable * cancellable, GError * *error), (self, cancellable, error))             \
    R(const gchar *, secret_service_get_session_algorithms, (SecretService * self), (self))                        \
    R(gchar *, secret_service_read_alias_dbus_path_sync,                                                           \
      (SecretService * self, const gchar *alias, GCancellable *cancellable, GError **error),                       \
      (self, alias, cancellable, error))                                                                           \
    R(GHashTable *, secret_service_get_secrets_for_dbus_paths_sync,                                                \
      (SecretService * self, const gchar **item_paths, GCancellable *cancellable, GError **error),                 \
      (self, item_paths, cancellable, error))                                                                      \
    V(secret_service_unlock_dbus_paths,                                                                            \
      (SecretService * self, const gchar **paths, GCancellable *cancellable, GAsyncReadyCallback callback,         \
       gpointer user_data),                                                                                        \
      (self, paths, cancellable, callback, user_data))                                                             \
    R(gint, secret_service_unlock_dbus_paths_finish,                                                               \
      (SecretService * self, GAsyncResult * result, gchar * **unlocked, GError * *error),                          \
      (self, result, unlocked, error))                                                                             \
    V(secret_service_store,                                                                                        \
      (SecretService * service, const SecretSchema *schema, GHashTable *attributes, const gchar *collection,      \
       const gchar *label, SecretValue *value, GCancellable *cancellable, GAsyncReadyCallback callback,            \
       gpointer user_data),                                                                                        \
      (service, schema, attributes, collection, label, value, cancellable, callback, user_data))                  \
    R(gboolean, secret_service_store_finish, (SecretService * service, GAsyncResult * result, GError * *error),    \
      (service, result, error))                                                                                    \
    V(secret_service_delete_item_dbus_path,                                                                        \
      (SecretService * self, const gchar *item_path, GCancellable *cancellable, GAsyncReadyCallback callback,      \
       gpointer user_data),                                                                                        \
      (self, item_path, cancellable, callback, user_data))                                                         \
    R(gboolean, secret_service_delete_item_dbus_path_finish,                                                       \
      (SecretService * self, GAsyncResult * result, GError * *error), (self, result, error))                       \
    R(SecretCollection *, secret_collection_for_alias_sync,                                                        \
      (SecretService * service, const gchar *alias, guint flags, GCancellable *cancellable, GError **error),       \
      (service, alias, flags, cancellable, error))                                                                 \
    R(gboolean, secret_collection_get_locked, (SecretCollection * self), (self))                                   \
    R(gchar *, secret_collection_get_label, (SecretCollection * self), (self))                                     \
    V(secret_item_create,                                                                                          \
      (SecretCollection * collection, const SecretSchema *schema, GHashTable *attributes, const gchar *label,     \
       SecretValue *value, guint flags, GCancellable *cancellable, GAsyncReadyCallback callback,                   \
       gpointer user_data),                                                                                        \
      (collection, schema, attributes, label, value, flags, cancellable, callback, user_data))                    \
    R(SecretItem *, secret_item_create_finish, (GAsyncResult * result, GError * *error), (result, error))         \
    V(secret_value_unref, (gpointer value), (value))                                                               \
    R(const gchar *, secret_value_get, (SecretValue * value, gsize * length), (value, length))

#define KEYWAY_DECLARE_R(ret, name, parameters, arguments) ret keyway_##name parameters;
#define KEYWAY_DECLARE_V(name, parameters, arguments) void keyway_##name parameters;
KEYWAY_LIBSECRET_FORWARDED(KEYWAY_DECLARE_R, KEYWAY_DECLARE_V)
#undef KEYWAY_DECLARE_R
#undef KEYWAY_DECLARE_V

// Helpers (libsecret.c).

/// A string -> string hash table that owns copies of its keys and values, as libsecret's attribute tables are.
GHashTable *keyway_attributes_new(void);
void keyway_attributes_set(GHashTable *table, const char *name, const char *value);

/// The D-Bus object path of any libsecret proxy (service, collection, item).
const char *keyway_proxy_path(GObject *proxy);
/// Whether the name a proxy talks to had an owner when the proxy was made (or since): GDBus follows it.
gboolean keyway_proxy_has_owner(GObject *proxy);
/// The D-Bus connection a libsecret proxy talks over (not a new reference).
GDBusConnection *keyway_proxy_connection(GObject *proxy);
/// g_object_unref of any GObject (proxy, cancellable...), NULL allowed.
void keyway_unref(GObject *object);

/// `(s)`: a one-string argument tuple for a D-Bus call.
GVariant *keyway_variant_string_tuple(const char *value);

GQuark keyway_io_error_domain(void);
GQuark keyway_secret_error_domain(void);

/// A text secret value (copied by libsecret into its secure memory).
SecretValue *keyway_value_new(const char *bytes, gssize length);

/// A D-Bus call to the Secret Service in flight (see keyway_call_begin).
typedef struct KeywayPendingCall KeywayPendingCall;

/// Sends `interface.method(parameters)` to `path` of the Secret Service without waiting for the reply, so that other
/// calls (or work) can proceed meanwhile; the reply is dispatched on `context` (Keyway's session has a private one,
/// shared by all its calls: no file descriptor per call), so it never runs on (or waits for) a main loop of the
/// program embedding Keyway. `parameters` is consumed if floating; `reply_type` is a GVariant type string the reply
/// must have. Every call begun must be finished, exactly once, with keyway_call_finish on the same context (which
/// frees it); `timeout_ms` and `cancellable` bound it as for a sync call.
KeywayPendingCall *keyway_call_begin(
    GMainContext *context, GDBusConnection *connection, const char *path, const char *interface, const char *method,
    GVariant *parameters, const char *reply_type, gint timeout_ms, GCancellable *cancellable);

/// Waits for a call begun with keyway_call_begin (running `context`, which may complete other calls of the same
/// context meanwhile) and frees it: the reply tuple (a new reference), or NULL with `error` set.
GVariant *keyway_call_finish(GMainContext *context, KeywayPendingCall *pending, GError **error);

/// A libsecret asynchronous call Keyway waits for with its own bound (see keyway_async_wait): the calls that may show
/// a prompt, which libsecret's synchronous forms wait for with no limit (CreateItem is sent with no timeout, and a
/// prompt that never sends `Completed`, even after `Dismiss`, is waited for forever).
typedef struct {
    GAsyncResult *result;
    gboolean done;
    gboolean provider_left;
    gboolean expired;
} KeywayAsync;

KeywayAsync *keyway_async_new(void);
/// Frees a call that completed. A call abandoned (timed out, or the provider left) is never freed: libsecret may still
/// hold the pointer as its callback's data.
void keyway_async_free(KeywayAsync *call);
/// The callback to give the libsecret call, with the KeywayAsync as its data.
GAsyncReadyCallback keyway_async_callback(void);
/// Watches `org.freedesktop.secrets` on `connection`: the returned subscription (pass it to keyway_async_wait) marks
/// `call` when the name loses its owner. Subscribe before starting the call, with `context` the thread default.
guint keyway_async_watch_provider(GMainContext *context, GDBusConnection *connection, KeywayAsync *call);
/// Runs `context` until `call` completes, `timeout_ms` pass, or the provider leaves the bus; then ends the watch.
/// Returns 0 when the call completed, 1 when the time ran out, 2 when the provider left.
int keyway_async_wait(
    GMainContext *context, GDBusConnection *connection, guint watch, KeywayAsync *call, guint timeout_ms);

/// `(a{ss})`: the argument of Service.SearchItems, from an attribute table.
GVariant *keyway_search_arguments(GHashTable *attributes);
/// The object paths of child `index` (an `ao`) of a reply tuple, NULL-terminated (free with g_strfreev).
gchar **keyway_reply_paths(GVariant *reply, gsize index);
/// A boolean property of an `a{sv}`, or `fallback` when it is missing or of another type.
gboolean keyway_properties_bool(GVariant *properties, const char *name, gboolean fallback);
/// A `t` (uint64) property of an `a{sv}`, or 0.
guint64 keyway_properties_uint64(GVariant *properties, const char *name);
/// A string property of an `a{sv}` (free with g_free), or NULL.
gchar *keyway_properties_string(GVariant *properties, const char *name);
/// An `ao` property of an `a{sv}` (a collection's Items, the service's Collections), NULL-terminated (free with
/// g_strfreev); an empty vector when missing or of another type.
gchar **keyway_properties_paths(GVariant *properties, const char *name);
/// An `a{ss}` property of an `a{sv}` as a NULL-terminated vector of names and values, alternating (name 0, value 0,
/// name 1, ...; empty when missing); free with g_strfreev.
gchar **keyway_properties_attributes(GVariant *properties, const char *name);

#endif
