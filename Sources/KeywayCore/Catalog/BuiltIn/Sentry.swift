extension AppCatalog {
    // Sentry (sentry-cli): SENTRY_AUTH_TOKEN; organization tokens start with sntrys_, user tokens with sntryu_.
    // ~/.sentryclirc is INI, which Keyway's specs cannot read yet: left out.
    static let sentryJSON = """
        {
        "name": "sentry",
        "env": ["SENTRY_AUTH_TOKEN"],
        "sources": [ { "type": "store" } ],
        "expected_prefixes": ["sntrys_", "sntryu_"],
        "token_kinds": [
          { "prefix": "sntrys_", "name": "organization auth token" },
          { "prefix": "sntryu_", "name": "user auth token" }
        ]
        }
        """
}
