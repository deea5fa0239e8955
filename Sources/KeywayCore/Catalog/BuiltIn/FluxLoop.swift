extension AppCatalog {
    // FluxLoop: --api-key > FLUXLOOP_API_KEY > ~/.fluxloop/credentials (YAML, per profile); rotate every 90 days.
    static let fluxloopJSON = """
        {
          "name": "fluxloop",
          "env": ["FLUXLOOP_API_KEY"],
          "sources": [
            { "type": "yaml-profiles", "path": "~/.fluxloop/credentials", "profiles_field": "profiles",
              "key_field": "api_key", "account_field": "account", "expires_field": "expires",
              "scopes_field": "scopes" },
            { "type": "store" }
          ],
          "expected_prefixes": ["flux_dev_", "flux_prod_"],
          "rotate_after_days": 90
        }
        """
}
