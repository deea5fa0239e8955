internal import CLibSecret
import KeywayCore

/// A `SecretCollection` proxy, released with the value.
final class Collection {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
    deinit { keyway_unref(pointer) }

    var path: String { String(cString: keyway_proxy_path(pointer)) }
    var isLocked: Bool { keyway_secret_collection_get_locked(pointer) != 0 }
    /// The label, else the last part of the path.
    var name: String {
        let label = keyway_secret_collection_get_label(pointer).map { pointer -> String in
            defer { keyway_g_free(pointer) }
            return String(cString: pointer)
        }
        if let label, !label.isEmpty { return "'\(label)'" }
        return path
    }
}

/// A Secret Service item as Keyway uses it: its object path and the properties read once (`GetAll`); no proxy.
struct Item {
    let path: String
    let isLocked: Bool
    let attributes: [String: String]
    let created: Int64
    let modified: Int64

    init(path: String, isLocked: Bool, attributes: [String: String], created: Int64, modified: Int64) {
        self.path = path
        self.isLocked = isLocked
        self.attributes = attributes
        self.created = created
        self.modified = modified
    }

    /// From the `a{sv}` of `org.freedesktop.Secret.Item` properties.
    init(path: String, properties: OpaquePointer) {
        var attributes: [String: String] = [:]
        // Names and values, alternating.
        let pairs = keyway_properties_attributes(properties, "Attributes")
        var index = 0
        while let name = pairs?[index], let value = pairs?[index + 1] {
            attributes[String(cString: name)] = String(cString: value)
            index += 2
        }
        keyway_g_strfreev(pairs)
        self.init(
            path: path, isLocked: keyway_properties_bool(properties, "Locked", 0) != 0, attributes: attributes,
            created: Int64(truncatingIfNeeded: keyway_properties_uint64(properties, "Created")),
            modified: Int64(truncatingIfNeeded: keyway_properties_uint64(properties, "Modified")))
    }

    /// The path of the collection holding the item (its path without the last component).
    var collectionPath: String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[..<slash])
    }
}
