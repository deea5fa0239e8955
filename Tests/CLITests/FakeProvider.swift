import Foundation
import KeywayCore
import KeywayTestSupport

/// A small Secret Service (a python3-gi GDBus program on a private bus, with the encrypted transfer session libsecret
/// negotiates: dh-ietf1024-sha256-aes128-cbc-pkcs7, through python3-cryptography) that misbehaves on purpose, the way
/// real providers were seen to: it serves one collection holding one item (`fakeapp`, profile `default`, secret
/// `FakeProvider.oldSecret`) and logs every call it gets. Faults (comma-separated):
/// - `bad-creates=N`: the first N `CreateItem` calls store an empty secret (KWallet's session-key bug, KDE 514194);
/// - `fail-creates=N`: the first N `CreateItem` calls fail ("Can't find session ...", as KWallet's do);
/// - `bad-reads=N`: the first N `GetSecrets` calls fail ("Client public key size is invalid", as KWallet's do);
/// - `hang-create`: `CreateItem` is never answered;
/// - `exit-on-create`: the provider exits as soon as `CreateItem` arrives (a provider killed mid-command);
/// - `locked-prompt-hangs`: the collection is locked and the unlock prompt never completes;
/// - `plain-only`: declines the encrypted transfer session and accepts only the unencrypted "plain" one.
/// Killed (SIGKILL) when released.
final class FakeProvider: @unchecked Sendable {
    static let oldSecret = "old_fake_key_0123456789"

    private let provider: PrivateProvider

    var bus: PrivateBus { provider.bus }
    var environment: [String: String] { provider.environment }

    init(faults: String = "") throws {
        provider = try PrivateProvider(
            script: Self.script, arguments: [Self.oldSecret], extra: [faults], name: "fake provider",
            needs: "python3-gi, python3-cryptography")
    }

    /// The calls received so far, one per line ("OpenSession dh-ietf1024-sha256-aes128-cbc-pkcs7", "CreateItem", ...).
    func calls() -> [String] { provider.calls() }

    func count(_ call: String) -> Int { calls().filter { $0 == call || $0.hasPrefix(call + " ") }.count }

    static let script = #"""
        import os, sys, time
        from gi.repository import Gio, GLib
        from cryptography.hazmat.primitives import hashes, padding
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        address, old_secret, log_path, fault_text = sys.argv[1], sys.argv[2].encode(), sys.argv[3], sys.argv[4]
        faults = {}
        for part in filter(None, fault_text.split(",")):
            name, _, value = part.partition("=")
            faults[name] = int(value) if value else 1
        ALGORITHM = "dh-ietf1024-sha256-aes128-cbc-pkcs7"
        PRIME = int(
            "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
            "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
            "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF", 16)
        SERVICE = "/org/freedesktop/secrets"
        COLLECTION = SERVICE + "/collection/fake"
        PROMPT = SERVICE + "/prompt/p1"
        keys = {}
        items = {COLLECTION + "/1": {"attributes": {"service": "fakeapp", "username": "default"},
                                     "secret": old_secret, "label": "fakeapp", "created": 1000, "modified": 1000}}
        state = {"locked": "locked-prompt-hangs" in faults, "next": 2}

        def log(text):
            with open(log_path, "a") as f:
                f.write(text + "\n")

        def take(name):
            if faults.get(name, 0) > 0:
                faults[name] -= 1
                return True
            return False

        def encrypt(key, plain):
            iv = os.urandom(16)
            padder = padding.PKCS7(128).padder()
            data = padder.update(plain) + padder.finalize()
            encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
            return iv, encryptor.update(data) + encryptor.finalize()

        def decrypt(key, iv, data):
            decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
            unpadder = padding.PKCS7(128).unpadder()
            return unpadder.update(decryptor.update(data) + decryptor.finalize()) + unpadder.finalize()

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
            <method name="Unlock"><arg type="ao" direction="in"/><arg type="ao" direction="out"/><arg type="o" direction="out"/></method>
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
            <method name="Delete"><arg type="o" direction="out"/></method>
            <property name="Locked" type="b" access="read"/>
            <property name="Attributes" type="a{ss}" access="read"/>
            <property name="Label" type="s" access="read"/>
            <property name="Created" type="t" access="read"/>
            <property name="Modified" type="t" access="read"/>
          </interface>
          <interface name="org.freedesktop.Secret.Prompt">
            <method name="Prompt"><arg type="s" direction="in"/></method>
            <method name="Dismiss"/>
          </interface>
        </node>""")

        registrations = {}

        def register(path, interface):
            registrations[path] = connection.register_object(
                path, nodes.lookup_interface(interface), method, prop, None)

        def method(connection, sender, path, interface, name, parameters, invocation):
            if name == "OpenSession":
                algorithm, value = parameters.unpack()
                log("OpenSession " + algorithm)
                if "plain-only" in faults:
                    if algorithm != "plain":
                        invocation.return_dbus_error("org.freedesktop.DBus.Error.NotSupported", "plain only")
                        return
                    session = SERVICE + "/session/s%d" % (len(keys) + 1)
                    keys[session] = None
                    invocation.return_value(GLib.Variant("(vo)", (GLib.Variant("s", ""), session)))
                    return
                if algorithm != ALGORITHM:
                    invocation.return_dbus_error("org.freedesktop.DBus.Error.NotSupported", "dh only")
                    return
                private = int.from_bytes(os.urandom(64), "big")
                public = pow(2, private, PRIME)
                shared = pow(int.from_bytes(bytes(value), "big"), private, PRIME).to_bytes(128, "big")
                session = SERVICE + "/session/s%d" % (len(keys) + 1)
                keys[session] = HKDF(algorithm=hashes.SHA256(), length=16, salt=None, info=None).derive(shared)
                invocation.return_value(GLib.Variant("(vo)", (GLib.Variant("ay", public.to_bytes(128, "big")), session)))
            elif name == "SearchItems":
                log("SearchItems")
                wanted = parameters.unpack()[0]
                found = [p for p, i in items.items() if all(i["attributes"].get(k) == v for k, v in wanted.items())]
                unlocked, locked = ([], found) if state["locked"] else (found, [])
                invocation.return_value(GLib.Variant("(aoao)", (unlocked, locked)))
            elif name == "GetSecrets":
                log("GetSecrets")
                paths, session = parameters.unpack()
                if take("bad-reads"):
                    invocation.return_dbus_error("org.freedesktop.DBus.Error.Failed", "Client public key size is invalid")
                    return
                result = {}
                for p in paths:
                    if p in items and not state["locked"] and keys[session] is None:
                        result[p] = (session, b"", items[p]["secret"], "text/plain")
                    elif p in items and not state["locked"]:
                        iv, data = encrypt(keys[session], items[p]["secret"])
                        result[p] = (session, iv, data, "text/plain")
                invocation.return_value(GLib.Variant("(a{o(oayays)})", (result,)))
            elif name == "CreateItem":
                log("CreateItem")
                if take("fail-creates"):
                    invocation.return_dbus_error(
                        "org.freedesktop.DBus.Error.Failed", "Can't find session " + parameters.unpack()[1][0])
                    return
                if "exit-on-create" in faults:
                    os._exit(0)
                if "hang-create" in faults:
                    registrations["hung"] = invocation  # kept, never answered
                    return
                properties, (session, iv, data, content_type), replace = parameters.unpack()
                secret = b"" if take("bad-creates") else decrypt(keys[session], bytes(iv), bytes(data))
                path = COLLECTION + "/%d" % state["next"]
                state["next"] += 1
                now = int(time.time())
                items[path] = {"attributes": properties.get("org.freedesktop.Secret.Item.Attributes", {}),
                               "label": properties.get("org.freedesktop.Secret.Item.Label", ""),
                               "secret": secret, "created": now, "modified": now}
                register(path, "org.freedesktop.Secret.Item")
                invocation.return_value(GLib.Variant("(oo)", (path, "/")))
            elif name == "Delete":
                log("Delete " + path)
                items.pop(path, None)
                invocation.return_value(GLib.Variant("(o)", ("/",)))
            elif name == "Unlock":
                log("Unlock")
                invocation.return_value(GLib.Variant("(aoo)", ([], PROMPT)))
            elif name == "Prompt":
                log("Prompt")  # never completes
                invocation.return_value(None)
            elif name == "Dismiss":
                log("Dismiss")
                invocation.return_value(None)
            elif name == "ReadAlias":
                log("ReadAlias")
                invocation.return_value(GLib.Variant("(o)", (COLLECTION,)))
            else:
                log(name)
                invocation.return_dbus_error("org.freedesktop.DBus.Error.NotSupported", name + " is not served")

        def prop(connection, sender, path, interface, name):
            if path == SERVICE:
                return GLib.Variant("ao", [COLLECTION])
            if path == COLLECTION:
                values = {"Items": GLib.Variant("ao", sorted(items)), "Label": GLib.Variant("s", "Fake"),
                          "Locked": GLib.Variant("b", state["locked"]), "Created": GLib.Variant("t", 0),
                          "Modified": GLib.Variant("t", 0)}
                return values[name]
            item = items.get(path, {"attributes": {}, "label": "", "created": 0, "modified": 0})
            values = {"Locked": GLib.Variant("b", state["locked"]), "Attributes": GLib.Variant("a{ss}", item["attributes"]),
                      "Label": GLib.Variant("s", item["label"]), "Created": GLib.Variant("t", item["created"]),
                      "Modified": GLib.Variant("t", item["modified"])}
            return values[name]

        flags = Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION
        connection = Gio.DBusConnection.new_for_address_sync(address, flags, None, None)
        register(SERVICE, "org.freedesktop.Secret.Service")
        register(COLLECTION, "org.freedesktop.Secret.Collection")
        register(PROMPT, "org.freedesktop.Secret.Prompt")
        for path in items:
            register(path, "org.freedesktop.Secret.Item")
        connection.call_sync(
            "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "RequestName",
            GLib.Variant("(su)", ("org.freedesktop.secrets", 4)), GLib.VariantType("(u)"), Gio.DBusCallFlags.NONE, -1,
            None)
        print("ready", flush=True)
        GLib.MainLoop().run()
        """#
}
