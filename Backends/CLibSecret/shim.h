// The parts of libsecret, GIO and GLib that Keyway's Secret Service backend calls, plus small helpers for the C
// idioms Swift cannot express (variadic constructors, GObject casts). Only the stable libsecret API is used.
#ifndef KEYWAY_CLIBSECRET_SHIM_H
#define KEYWAY_CLIBSECRET_SHIM_H

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

#endif
