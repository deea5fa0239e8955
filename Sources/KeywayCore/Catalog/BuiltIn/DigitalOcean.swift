extension AppCatalog {
    // DigitalOcean (doctl): DIGITALOCEAN_ACCESS_TOKEN, then doctl's ~/.config/doctl/config.yaml ($XDG_CONFIG_HOME/doctl
    // when set): access-token for the context "default", auth-contexts.NAME for the context NAME (doctl auth init
    // --context NAME; the Keyway profile NAME); `context` in the file (doctl auth switch) selects the context used
    // by default. --config and --context are doctl's flags, not read. Personal access tokens start with dop_v1_.
    static let doctlJSON = """
        {
        "name": "doctl",
        "env": ["DIGITALOCEAN_ACCESS_TOKEN"],
        "sources": [
          { "type": "yaml", "path": "~/.config/doctl/config.yaml", "config_home_env": "XDG_CONFIG_HOME",
            "entry": [], "key_field": "access-token", "profile_entry": ["auth-contexts"],
            "profile_key_field": "{profile}", "active_profile": ["context"] },
          { "type": "store" }
        ],
        "expected_prefixes": ["dop_v1_", "doo_v1_"],
        "token_kinds": [
          { "prefix": "dop_v1_", "name": "personal access token" },
          { "prefix": "doo_v1_", "name": "OAuth token" }
        ]
        }
        """
}
