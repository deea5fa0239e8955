/// The one error type Keyway's library throws.
///
/// `code` is an open set (a struct, not an enum) so new codes can be added without breaking callers that switch on
/// the ones they know. `message` is complete and meant for people; it never contains secret material.
public struct KeywayError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, RawRepresentable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A file could not be parsed (bad JSON, wrong shape, unknown version).
        public static let malformedFile = Code(rawValue: "malformed-file")
        /// A file could not be read or written (I/O, permission denied by the system).
        public static let io = Code(rawValue: "io")
        /// A file's permissions let group or others in and strict mode is on.
        public static let insecurePermissions = Code(rawValue: "insecure-permissions")
        /// A file is owned by another user.
        public static let foreignOwner = Code(rawValue: "foreign-owner")
        /// A path is a symbolic link to something other than a regular file owned by the user, or not a regular file.
        public static let unsafeFile = Code(rawValue: "unsafe-file")
        /// A value given by the user is not acceptable (empty key, bad date, unknown backend...).
        public static let invalidInput = Code(rawValue: "invalid-input")
        /// A backend cannot be used here; the message says why.
        public static let backendUnavailable = Code(rawValue: "backend-unavailable")
        /// A file was written by a newer Keyway and is left alone.
        public static let unsupportedVersion = Code(rawValue: "unsupported-version")
    }

    public let code: Code
    public let message: String
    /// The file concerned, when there is one.
    public let path: String?

    public init(_ code: Code, _ message: String, path: String? = nil) {
        self.code = code
        self.message = message
        self.path = path
    }

    public var description: String { message }
}

/// A non-fatal condition worth telling the user about. `code` is stable; `message` is for people and names the fix.
public struct KeywayWarning: Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, RawRepresentable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A credentials file is readable or writable by group or others.
        public static let insecurePermissions = Code(rawValue: "insecure-permissions")
        /// The credential has expired.
        public static let expired = Code(rawValue: "expired")
        /// The credential expires within 14 days.
        public static let expiresSoon = Code(rawValue: "expires-soon")
        /// An environment variable overrides a stored credential.
        public static let environmentOverridesStore = Code(rawValue: "env-overrides-store")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// Where warnings go. The CLI prints them on stderr; a program embedding Keyway decides for itself.
public typealias WarningHandler = @Sendable (KeywayWarning) -> Void
