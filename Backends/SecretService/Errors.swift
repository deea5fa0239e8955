import KeywayCore

/// The error codes of the Secret Service backend. Each state a desktop or server can be in has its own code, so a
/// program (and the tests) can tell them apart; every message says what to do.
extension KeywayError.Code {
    /// No D-Bus session bus: no `DBUS_SESSION_BUS_ADDRESS` and no `$XDG_RUNTIME_DIR/bus`, or it cannot be reached.
    public static let noSessionBus = Self(rawValue: "keyring-no-session-bus")
    /// A session bus, but no Secret Service provider on it (nothing owns `org.freedesktop.secrets` and none can be
    /// started), or the provider could not be started.
    public static let noSecretService = Self(rawValue: "keyring-no-secret-service")
    /// The collection (or an item) is locked and no unlock prompt can be shown here.
    public static let keyringLocked = Self(rawValue: "keyring-locked")
    /// An unlock (or create) prompt was shown and dismissed, or it went away without unlocking.
    public static let keyringPromptDismissed = Self(rawValue: "keyring-prompt-dismissed")
    /// The bus or the Secret Service did not answer in time (`KEYWAY_KEYRING_TIMEOUT`, default 5 s).
    public static let keyringTimeout = Self(rawValue: "keyring-timeout")
    /// The Secret Service would move secrets in clear text: it accepted no encrypted transfer session (libsecret then
    /// falls back to the "plain" algorithm on its own). Keyway refuses to read or store through it.
    public static let keyringPlainSession = Self(rawValue: "keyring-plain-session")
    /// The Secret Service answered earlier in the command and left the bus since (it exited, crashed or was
    /// killed), possibly while a call was in flight.
    public static let keyringDisconnected = Self(rawValue: "keyring-disconnected")
    /// The Secret Service has no default collection (nowhere to store) and no prompt can be shown to create one.
    public static let keyringNoDefaultCollection = Self(rawValue: "keyring-no-default-collection")
    /// libsecret-1.so.0 (which Keyway loads when a command opens the Secret Service store; it is not linked) could not
    /// be loaded, or lacks a function Keyway calls: the keyring backend cannot be used here at all.
    public static let keyringNoLibrary = Self(rawValue: "keyring-no-libsecret")
    /// Any other failure reported by the Secret Service or D-Bus; the message carries its explanation.
    public static let keyringFailure = Self(rawValue: "keyring-failure")
}

extension KeywayWarning.Code {
    /// A keyring item has a Keyway metadata attribute that cannot be understood; the field was ignored.
    public static let keyringMetadataIgnored = Self(rawValue: "keyring-metadata-ignored")
    /// Several keyring items stand for one credential (another tool added its own); the most recently modified was
    /// used.
    public static let keyringDuplicateItems = Self(rawValue: "keyring-duplicate-items")
    /// A listing found an item whose secret could no longer be read (another program removed or locked it meanwhile);
    /// it was left out.
    public static let keyringItemVanished = Self(rawValue: "keyring-item-vanished")
    /// A listing of every app found an item whose secret is no usable API key (another tool's binary secret, a key
    /// breaking the key rules); it was left out, and reading that credential reports why.
    public static let keyringItemUnusable = Self(rawValue: "keyring-item-unusable")
    /// A write found that the item it made does not hold the key (KWallet's session-key bug, KDE 514194) and could not
    /// remove that item: the warning names it.
    public static let keyringBadCopyLeft = Self(rawValue: "keyring-bad-copy-left")
}
