/// The environment variables Keyway reads, captured once. Tests and embedding programs pass their own.
public struct Environment: Sendable {
    public var values: [String: String]
    /// Variables whose values were not valid UTF-8 (`values` holds them repaired with U+FFFD): a key read from one
    /// is refused, never used repaired.
    public var invalidUTF8: Set<String>

    public init(_ values: [String: String], invalidUTF8: Set<String> = []) {
        self.values = values
        self.invalidUTF8 = invalidUTF8
    }

    /// The current process environment.
    public static func process() -> Environment {
        let pairs = Sys.environment()
        var values = [String: String](minimumCapacity: pairs.count)
        for (name, value) in pairs where values[name] == nil { values[name] = value }
        return Environment(values, invalidUTF8: Sys.environmentNamesWithInvalidUTF8())
    }

    public subscript(name: String) -> String? { values[name] }

    /// The value when set and not empty.
    public func nonEmpty(_ name: String) -> String? {
        guard let value = values[name], !value.isEmpty else { return nil }
        return value
    }

    /// True for `1`, `true`, `yes`, `on` (any case).
    public func flag(_ name: String) -> Bool {
        guard let value = values[name]?.lowercased() else { return false }
        return ["1", "true", "yes", "on"].contains(value)
    }

    /// `$HOME`, else the password database's home directory.
    public var home: String? {
        nonEmpty("HOME") ?? Sys.homeDirectory()
    }
}

/// Where Keyway keeps its files.
public struct KeywayPaths: Sendable, Equatable {
    /// `$KEYWAY_CONFIG_DIR`, else `$XDG_CONFIG_HOME/keyway` (when absolute), else `~/.config/keyway`.
    public let configDirectory: String
    /// `$KEYWAY_CREDENTIALS_FILE`, else `credentials.json` in the config directory.
    public let credentialsFile: String
    /// `$KEYWAY_VAULT_FILE`, else `credentials.vault` in the config directory (the encrypted backend's file).
    public let vaultFile: String
    /// `$KEYWAY_VAULT_KEY_FILE`, when set: the file holding the vault's key.
    public let vaultKeyFile: String?

    public init(
        configDirectory: String, credentialsFile: String? = nil, vaultFile: String? = nil, vaultKeyFile: String? = nil
    ) {
        self.configDirectory = configDirectory
        self.credentialsFile = credentialsFile ?? configDirectory + "/credentials.json"
        self.vaultFile = vaultFile ?? configDirectory + "/credentials.vault"
        self.vaultKeyFile = vaultKeyFile
    }

    public init(environment: Environment) throws(KeywayError) {
        let directory: String
        if let dir = environment.nonEmpty("KEYWAY_CONFIG_DIR") {
            directory = dir
        } else if let xdg = environment.nonEmpty("XDG_CONFIG_HOME"), xdg.hasPrefix("/") {
            directory = xdg + "/keyway"
        } else if let home = environment.home {
            directory = home + "/.config/keyway"
        } else {
            throw KeywayError(
                .invalidInput, "Cannot find a configuration directory: set KEYWAY_CONFIG_DIR, XDG_CONFIG_HOME or HOME.")
        }
        self.init(
            configDirectory: directory, credentialsFile: environment.nonEmpty("KEYWAY_CREDENTIALS_FILE"),
            vaultFile: environment.nonEmpty("KEYWAY_VAULT_FILE"),
            vaultKeyFile: environment.nonEmpty("KEYWAY_VAULT_KEY_FILE"))
    }
}

extension KeywayPaths {
    /// The directories Keyway keeps its files in: the config directory (its `apps` directory of app specs instead,
    /// when that exists, which checks both) and the directories of the credentials file and the vault file.
    public var directories: [String] {
        let apps = configDirectory + "/apps"
        let isDirectory = (try? Sys.statFollowingLinks(apps)).map { $0.map(FileMode.isDirectory) ?? false } ?? false
        var result: [String] = []
        for directory in [
            isDirectory ? apps : configDirectory, ProtectedFile.directoryName(credentialsFile),
            ProtectedFile.directoryName(vaultFile),
        ] where !result.contains(directory) {
            result.append(directory)
        }
        return result
    }

    /// Keyway's files whose directory chains are checked (symbolic links followed): the credentials file, the vault
    /// file and the vault key file.
    public var files: [String] {
        [credentialsFile, vaultFile] + (vaultKeyFile.map { [$0] } ?? [])
    }

    /// Checks `directories` and the chains leading to `files` (and `extraFiles`, such as a key file about to be
    /// created) with `DirectoryChain` (up to `home`): warns about a directory that another user owns or that group
    /// or others can write, or in strict mode refuses it.
    public func checkDirectories(
        home: String?, strict: Bool, warn: WarningHandler?, extraFiles: [String] = []
    ) throws(KeywayError) {
        try DirectoryChain.check(directories, files: files + extraFiles, home: home, strict: strict, warn: warn)
    }
}

/// `variable` for a message about `app`: not shown when it is the default variable of an app name that may be a key
/// (`RFX_..._API_KEY` for a key typed as the app name would echo the key).
package func shownEnvironmentVariable(_ variable: String, for app: String) -> String {
    if !APIKeyRules.isShowableName(app), variable == defaultEnvironmentVariable(for: app) {
        return APIKeyRules.notShown
    }
    return variable
}

/// The environment variable that carries an app's key by default: `<APP>_API_KEY`, APP upper-cased, every character
/// other than A-Z and 0-9 turned into `_`.
public func defaultEnvironmentVariable(for app: String) -> String {
    var name = ""
    for character in app {
        if let ascii = character.asciiValue, character.isLetter || character.isNumber {
            name.append(Character(Unicode.Scalar(ascii >= 0x61 ? ascii - 32 : ascii)))
        } else {
            name.append("_")
        }
    }
    return name + "_API_KEY"
}
