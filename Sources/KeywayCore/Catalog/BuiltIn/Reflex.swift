extension AppCatalog {
    // Reflex: flag > REFLEX_API_KEY (legacy RFX_API_KEY) > ~/.config/reflex/credentials.json, whose location
    // REFLEX_CONFIG_DIR (directory) and REFLEX_CONFIG_FILE (full path, wins) override.
    static let reflexJSON = """
        {
          "name": "reflex",
          "env": ["REFLEX_API_KEY", "RFX_API_KEY"],
          "sources": [
            { "type": "json", "path": "~/.config/reflex/credentials.json",
              "dir_env": "REFLEX_CONFIG_DIR", "file_env": "REFLEX_CONFIG_FILE",
              "key_field": "api_key", "account_field": "account", "organization_field": "organization" },
            { "type": "store" }
          ],
          "expected_prefixes": ["rfx_"],
          "not_found": "API key is required. Run `{login}` or set {env}."
        }
        """
}
