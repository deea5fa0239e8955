extension AppCatalog {
    // Stripe CLI: STRIPE_API_KEY, then ~/.config/stripe/config.toml ("Stripe CLI keys": `stripe login` stores its
    // restricted keys there; the CLI reads $XDG_CONFIG_HOME/stripe when set), a TOML table per project (--project-name,
    // default "default" = the Keyway profile), the test-mode key test_mode_api_key (the CLI's default mode; newer
    // versions keep the live-mode key in the system keyring) with test_mode_key_expires_at and account_id. Secret
    // keys sk_live_/sk_test_, restricted keys rk_live_/rk_test_.
    static let stripeJSON = """
        {
        "name": "stripe",
        "env": ["STRIPE_API_KEY"],
        "sources": [
          { "type": "toml", "path": "~/.config/stripe/config.toml", "config_home_env": "XDG_CONFIG_HOME",
            "entry": ["{profile}"], "key_field": "test_mode_api_key", "account_field": "account_id",
            "expires_field": "test_mode_key_expires_at" },
          { "type": "store" }
        ],
        "expected_prefixes": ["sk_live_", "sk_test_", "rk_live_", "rk_test_"],
        "token_kinds": [
          { "prefix": "sk_live_", "name": "live secret key" },
          { "prefix": "sk_test_", "name": "test secret key" },
          { "prefix": "rk_live_", "name": "live restricted key" },
          { "prefix": "rk_test_", "name": "test restricted key" }
        ]
        }
        """
}
