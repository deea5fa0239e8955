import Foundation
import KeywayCore
import KeywayTesting
import Testing

/// A Secret Service that declines the encrypted transfer session: libsecret then falls back to the unencrypted
/// "plain" algorithm on its own, and secrets would cross the bus in clear text. Keyway must refuse to read or store
/// through it. The provider is a small GDBus program (python3-gi) on a private bus; it answers only what a lookup and a
/// store need, and serves one item whose secret must never reach Keyway's output.
@Suite(.enabled(if: PrivateBus.available))
struct PlainSessionTests {
    static let secret = "cleartext_key_0123456789"

    @Test func getRefusesAnUnencryptedTransferSession() throws {
        let provider = try PlainOnlyProvider()
        let sandbox = try Sandbox()
        let get = try sandbox.run(["get", "plainapp", "--backend", "keyring"], env: provider.environment)
        #expect(get.status == 2, "\(get)")
        #expect(get.stderr.contains("accepted no encrypted transfer session (negotiated: plain)"), "\(get)")
        #expect(get.stderr.contains("nothing was read or stored"), "\(get)")
        #expect(!get.stdout.contains(Self.secret) && !get.stderr.contains(Self.secret), "\(get)")
        #expect(provider.calls().contains("OpenSession plain"), "libsecret fell back to plain: \(provider.calls())")
        #expect(!provider.calls().contains("GetSecrets"), "no secret was asked for: \(provider.calls())")
    }

    @Test func loginRefusesAnUnencryptedTransferSession() throws {
        let provider = try PlainOnlyProvider()
        let sandbox = try Sandbox()
        let login = try sandbox.run(
            ["login", "plainapp", "--backend", "keyring"], env: provider.environment, stdin: "new_key_0123456789\n")
        #expect(login.status == 2, "\(login)")
        #expect(login.stderr.contains("accepted no encrypted transfer session (negotiated: plain)"), "\(login)")
        #expect(!provider.calls().contains("CreateItem"), "nothing was sent to be stored: \(provider.calls())")
    }
}

/// The plain-only provider: runs until released (SIGKILL), logs the methods it was called with.
final class PlainOnlyProvider: @unchecked Sendable {
    private let provider: ScriptedProvider

    var bus: PrivateBus { provider.bus }
    var environment: [String: String] { provider.environment }

    init() throws {
        provider = try ScriptedProvider(
            "plain-only provider", script: Self.script, arguments: [PlainSessionTests.secret], needs: "gi")
    }

    /// The calls received so far, one per line ("OpenSession plain", "SearchItems", ...).
    func calls() -> [String] { provider.calls() }

    static let script = #"""
        import sys
        from gi.repository import Gio, GLib

        address, secret, log_path = sys.argv[1], sys.argv[2].encode(), sys.argv[3]
        SERVICE = "/org/freedesktop/secrets"
        COLLECTION = SERVICE + "/collection/login"
        ITEM = COLLECTION + "/1"
        SESSION = SERVICE + "/session/s1"

        def log(text):
            with open(log_path, "a") as f:
                f.write(text + "\n")

        nodes = Gio.DBusNodeInfo.new_for_xml("""
        <node>
          <interface name="org.freedesktop.Secret.Service">
            <method name="OpenSession">
              <arg type="s" direction="in"/><arg type="v" direction="in"/>
              <arg type="v" direction="out"/><arg type="o" direction="out"/>
            </method>
            <method name="SearchItems">
              <arg type="a{ss}" direction="in"/><arg type="ao" direction="out"/><arg type="ao" direction="out"/>
            </method>
            <method name="GetSecrets">
              <arg type="ao" direction="in"/><arg type="o" direction="in"/>
              <arg type="a{o(oayays)}" direction="out"/>
            </method>
            <method name="ReadAlias"><arg type="s" direction="in"/><arg type="o" direction="out"/></method>
            <property name="Collections" type="ao" access="read"/>
          </interface>
          <interface name="org.freedesktop.Secret.Collection">
            <method name="CreateItem">
              <arg type="a{sv}" direction="in"/><arg type="(oayays)" direction="in"/><arg type="b" direction="in"/>
              <arg type="o" direction="out"/><arg type="o" direction="out"/>
            </method>
            <property name="Items" type="ao" access="read"/>
            <property name="Label" type="s" access="read"/>
            <property name="Locked" type="b" access="read"/>
            <property name="Created" type="t" access="read"/>
            <property name="Modified" type="t" access="read"/>
          </interface>
          <interface name="org.freedesktop.Secret.Item">
            <property name="Locked" type="b" access="read"/>
            <property name="Attributes" type="a{ss}" access="read"/>
            <property name="Label" type="s" access="read"/>
            <property name="Created" type="t" access="read"/>
            <property name="Modified" type="t" access="read"/>
          </interface>
        </node>""")

        def method(connection, sender, path, interface, name, parameters, invocation):
            if name == "OpenSession":
                algorithm = parameters.unpack()[0]
                log("OpenSession " + algorithm)
                if algorithm != "plain":
                    invocation.return_dbus_error("org.freedesktop.DBus.Error.NotSupported", "plain only")
                    return
                invocation.return_value(GLib.Variant("(vo)", (GLib.Variant("s", ""), SESSION)))
            elif name == "SearchItems":
                log("SearchItems")
                invocation.return_value(GLib.Variant("(aoao)", ([ITEM], [])))
            elif name == "GetSecrets":
                log("GetSecrets")
                invocation.return_value(
                    GLib.Variant("(a{o(oayays)})", ({ITEM: (SESSION, b"", secret, "text/plain")},)))
            elif name == "ReadAlias":
                log("ReadAlias")
                invocation.return_value(GLib.Variant("(o)", (COLLECTION,)))
            else:
                log(name)
                invocation.return_dbus_error("org.freedesktop.DBus.Error.NotSupported", name + " is not served")

        def prop(connection, sender, path, interface, name):
            values = {
                "Collections": GLib.Variant("ao", [COLLECTION]),
                "Items": GLib.Variant("ao", [ITEM]),
                "Label": GLib.Variant("s", "Login"),
                "Locked": GLib.Variant("b", False),
                "Created": GLib.Variant("t", 0),
                "Modified": GLib.Variant("t", 0),
                "Attributes": GLib.Variant("a{ss}", {"service": "plainapp", "username": "default"}),
            }
            return values[name]

        flags = Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION
        connection = Gio.DBusConnection.new_for_address_sync(address, flags, None, None)
        connection.register_object(SERVICE, nodes.lookup_interface("org.freedesktop.Secret.Service"), method, prop, None)
        connection.register_object(
            COLLECTION, nodes.lookup_interface("org.freedesktop.Secret.Collection"), method, prop, None)
        connection.register_object(ITEM, nodes.lookup_interface("org.freedesktop.Secret.Item"), method, prop, None)
        connection.call_sync(
            "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "RequestName",
            GLib.Variant("(su)", ("org.freedesktop.secrets", 4)), GLib.VariantType("(u)"), Gio.DBusCallFlags.NONE, -1,
            None)
        print("ready", flush=True)
        GLib.MainLoop().run()
        """#
}
