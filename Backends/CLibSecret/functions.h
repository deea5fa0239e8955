// The functions only libsecret.c calls (variadic ones, and those behind its helpers), looked up with the forwarded
// ones of include/CLibSecret.h. (ret, name, parameters)
#ifndef KEYWAY_CLIBSECRET_FUNCTIONS_H
#define KEYWAY_CLIBSECRET_FUNCTIONS_H

#include "CLibSecret.h"

typedef struct _GDBusProxy GDBusProxy;
typedef struct _GSource GSource;
typedef struct _GVariantBuilder GVariantBuilder;
typedef guint (*GHashFunc)(gconstpointer key);
typedef gboolean (*GEqualFunc)(gconstpointer a, gconstpointer b);
typedef void (*GDestroyNotify)(gpointer data);
typedef void (*GHFunc)(gpointer key, gpointer value, gpointer user_data);
typedef gboolean (*GSourceFunc)(gpointer user_data);
typedef void (*GDBusSignalCallback)(
    GDBusConnection *connection, const gchar *sender_name, const gchar *object_path, const gchar *interface_name,
    const gchar *signal_name, GVariant *parameters, gpointer user_data);

#define KEYWAY_G_SOURCE_REMOVE 0

#define KEYWAY_LIBSECRET_INTERNAL(F)                                                                               \
    F(GHashTable *, g_hash_table_new_full,                                                                         \
      (GHashFunc hash_func, GEqualFunc key_equal_func, GDestroyNotify key_destroy_func,                            \
       GDestroyNotify value_destroy_func))                                                                         \
    F(gboolean, g_hash_table_replace, (GHashTable * hash_table, gpointer key, gpointer value))                     \
    F(void, g_hash_table_foreach, (GHashTable * hash_table, GHFunc func, gpointer user_data))                      \
    F(guint, g_str_hash, (gconstpointer v))                                                                        \
    F(gboolean, g_str_equal, (gconstpointer v1, gconstpointer v2))                                                 \
    F(gpointer, g_object_ref, (gpointer object))                                                                   \
    F(GQuark, g_io_error_quark, (void))                                                                            \
    F(GQuark, secret_error_get_quark, (void))                                                                      \
    F(const gchar *, g_dbus_proxy_get_object_path, (GDBusProxy * proxy))                                           \
    F(gchar *, g_dbus_proxy_get_name_owner, (GDBusProxy * proxy))                                                  \
    F(GDBusConnection *, g_dbus_proxy_get_connection, (GDBusProxy * proxy))                                        \
    F(SecretValue *, secret_value_new, (const gchar *secret, gssize length, const gchar *content_type))            \
    F(GVariant *, g_variant_new_string, (const gchar *string))                                                     \
    F(GVariant *, g_variant_new_tuple, (GVariant *const *children, gsize n_children))                              \
    F(void, g_variant_get, (GVariant * value, const gchar *format_string, ...))                                    \
    F(gchar **, g_variant_dup_objv, (GVariant * value, gsize * length))                                            \
    F(gboolean, g_variant_lookup, (GVariant * dictionary, const gchar *key, const gchar *format_string, ...))      \
    F(GVariant *, g_variant_lookup_value,                                                                          \
      (GVariant * dictionary, const gchar *key, const GVariantType *expected_type))                                \
    F(gsize, g_variant_n_children, (GVariant * value))                                                             \
    F(void, g_variant_get_child, (GVariant * value, gsize index_, const gchar *format_string, ...))                \
    F(GVariantBuilder *, g_variant_builder_new, (const GVariantType *type))                                        \
    F(void, g_variant_builder_add, (GVariantBuilder * builder, const gchar *format_string, ...))                   \
    F(GVariant *, g_variant_builder_end, (GVariantBuilder * builder))                                              \
    F(void, g_variant_builder_unref, (GVariantBuilder * builder))                                                  \
    F(gboolean, g_main_context_iteration, (GMainContext * context, gboolean may_block))                            \
    F(GSource *, g_timeout_source_new, (guint interval))                                                           \
    F(void, g_source_set_callback, (GSource * source, GSourceFunc func, gpointer data, GDestroyNotify notify))     \
    F(guint, g_source_attach, (GSource * source, GMainContext * context))                                          \
    F(void, g_source_destroy, (GSource * source))                                                                  \
    F(void, g_source_unref, (GSource * source))                                                                    \
    F(void, g_dbus_connection_call,                                                                                \
      (GDBusConnection * connection, const gchar *bus_name, const gchar *object_path, const gchar *interface_name, \
       const gchar *method_name, GVariant *parameters, const GVariantType *reply_type, guint flags,                \
       gint timeout_msec, GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data))            \
    F(GVariant *, g_dbus_connection_call_finish,                                                                   \
      (GDBusConnection * connection, GAsyncResult * res, GError * *error))                                         \
    F(guint, g_dbus_connection_signal_subscribe,                                                                   \
      (GDBusConnection * connection, const gchar *sender, const gchar *interface_name, const gchar *member,        \
       const gchar *object_path, const gchar *arg0, guint flags, GDBusSignalCallback callback, gpointer user_data, \
       GDestroyNotify user_data_free_func))                                                                        \
    F(void, g_dbus_connection_signal_unsubscribe, (GDBusConnection * connection, guint subscription_id))

#endif
