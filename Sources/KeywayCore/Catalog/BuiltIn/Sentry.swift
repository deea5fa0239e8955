extension AppCatalog {
    // Sentry (sentry-cli): SENTRY_AUTH_TOKEN, then ~/.sentryclirc (sentry-cli's "Configuration and Authentication"),
    // INI, the token of its [auth] section. sentry-cli also reads a .sentryclirc found upwards from the current
    // directory, which Keyway does not (a file in a cloned repository). Organization tokens start with sntrys_, user
    // tokens with sntryu_.
    static let sentryJSON = """
        {
        "name": "sentry",
        "env": ["SENTRY_AUTH_TOKEN"],
        "sources": [
          { "type": "ini", "path": "~/.sentryclirc", "entry": ["auth"], "key_field": "token" },
          { "type": "store" }
        ],
        "expected_prefixes": ["sntrys_", "sntryu_"],
        "token_kinds": [
          { "prefix": "sntrys_", "name": "organization auth token" },
          { "prefix": "sntryu_", "name": "user auth token" }
        ]
        }
        """
}
