import KeywayCore

/// An item another program stored in the keyring (git-credential-libsecret, docker-credential-secretservice), as
/// it is: for Keyway's credential helpers, which read such items and `keyway import` copies.
package struct ForeignKeyringItem: Sendable {
    package let path: String
    package let attributes: [String: String]
    /// Seconds since the epoch of its last change.
    package let modified: Int64
    /// Its secret as text; nil when it is not UTF-8.
    package let secret: Secret?
}

extension SecretServiceStore {
    /// The items whose attributes include `attributes` (whatever their schema), with their secrets; locked ones are
    /// unlocked first as for `list` (or the error says why they cannot be).
    package func foreignItems(matching attributes: [String: String]) throws(KeywayError) -> [ForeignKeyringItem] {
        try withSession { session throws(KeywayError) -> [ForeignKeyringItem] in
            try unlockDefaultCollection(session)
            let items = try searching(session) { () throws(KeywayError) in try session.search(attributes) }
            guard !items.isEmpty else { return [] }
            try unlockItems(items, of: "items of other programs", session)
            let secrets = try session.secrets(items)
            return zip(items, secrets).compactMap { item, bytes in
                guard let bytes else { return nil }
                return ForeignKeyringItem(
                    path: item.path, attributes: item.attributes, modified: item.modified,
                    secret: String(validating: bytes, as: UTF8.self).map(Secret.init))
            }
        }
    }

    /// Removes another program's item (after `keyway import` copied it, or for git's `erase`); false when it was
    /// already gone (that program, or another, deleted it meanwhile: what was wanted, and nothing is lost).
    @discardableResult
    package func deleteForeignItem(path: String) throws(KeywayError) -> Bool {
        try withSession { session throws(KeywayError) -> Bool in try session.deleteIfPresent(path: path) }
    }
}
