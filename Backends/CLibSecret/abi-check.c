// Not part of the build: LibSecretABITests (Tests/SecretServiceBackendTests) compiles this with the real headers
// (`pkg-config --cflags libsecret-1`, Debian: libsecret-1-dev) and -Werror, which fails on any declaration of
// include/CLibSecret.h or functions.h that differs from libsecret's and GLib's: each function's type (a pointer to
// the real function must convert to the declared pointer type without a warning), GError's layout, each constant.
#define SECRET_API_SUBJECT_TO_CHANGE 1
#include <gio/gio.h>
#include <libsecret/secret.h>

#include "functions.h"

#include <stddef.h>

#define CHECK_R(ret, name, parameters, arguments) ret(*const check_##name) parameters = &name;
#define CHECK_V(name, parameters, arguments) void(*const check_##name) parameters = &name;
#define CHECK_F(ret, name, parameters) ret(*const check_##name) parameters = &name;
KEYWAY_LIBSECRET_FORWARDED(CHECK_R, CHECK_V)
KEYWAY_LIBSECRET_INTERNAL(CHECK_F)

struct keyway_gerror_mirror {
    KEYWAY_GERROR_FIELDS
};
_Static_assert(sizeof(struct keyway_gerror_mirror) == sizeof(GError), "GError's size");
_Static_assert(offsetof(struct keyway_gerror_mirror, domain) == offsetof(GError, domain), "GError.domain");
_Static_assert(offsetof(struct keyway_gerror_mirror, code) == offsetof(GError, code), "GError.code");
_Static_assert(offsetof(struct keyway_gerror_mirror, message) == offsetof(GError, message), "GError.message");

_Static_assert(KEYWAY_G_BUS_TYPE_SESSION == G_BUS_TYPE_SESSION, "G_BUS_TYPE_SESSION");
_Static_assert(
    KEYWAY_G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT == G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT,
    "G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT");
_Static_assert(
    KEYWAY_G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION == G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    "G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION");
_Static_assert(KEYWAY_G_IO_ERROR_CANCELLED == G_IO_ERROR_CANCELLED, "G_IO_ERROR_CANCELLED");
_Static_assert(KEYWAY_G_IO_ERROR_TIMED_OUT == G_IO_ERROR_TIMED_OUT, "G_IO_ERROR_TIMED_OUT");
_Static_assert(KEYWAY_SECRET_ERROR_IS_LOCKED == SECRET_ERROR_IS_LOCKED, "SECRET_ERROR_IS_LOCKED");
_Static_assert(KEYWAY_FLAGS_NONE == SECRET_SERVICE_NONE, "SECRET_SERVICE_NONE");
_Static_assert(KEYWAY_FLAGS_NONE == SECRET_COLLECTION_NONE, "SECRET_COLLECTION_NONE");
_Static_assert(KEYWAY_FLAGS_NONE == SECRET_ITEM_CREATE_NONE, "SECRET_ITEM_CREATE_NONE");
_Static_assert(KEYWAY_FLAGS_NONE == G_DBUS_CALL_FLAGS_NONE, "G_DBUS_CALL_FLAGS_NONE");
_Static_assert(KEYWAY_FLAGS_NONE == G_DBUS_SIGNAL_FLAGS_NONE, "G_DBUS_SIGNAL_FLAGS_NONE");
_Static_assert(KEYWAY_G_SOURCE_REMOVE == G_SOURCE_REMOVE, "G_SOURCE_REMOVE");
