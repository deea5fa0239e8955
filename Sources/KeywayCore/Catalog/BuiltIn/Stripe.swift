extension AppCatalog {
    // Stripe CLI: STRIPE_API_KEY; secret keys sk_live_/sk_test_, restricted keys rk_live_/rk_test_. Its
    // ~/.config/stripe/config.toml is TOML, which Keyway's specs cannot read yet: left out.
    static let stripeJSON = """
        {
        "name": "stripe",
        "env": ["STRIPE_API_KEY"],
        "sources": [ { "type": "store" } ],
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
