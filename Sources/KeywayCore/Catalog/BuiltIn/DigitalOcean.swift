extension AppCatalog {
    // DigitalOcean (doctl): DIGITALOCEAN_ACCESS_TOKEN; personal access tokens start with dop_v1_. doctl's
    // config.yaml holds access-token at its top level, which the YAML source type (per profile) cannot read: left out.
    static let doctlJSON = """
        {
        "name": "doctl",
        "env": ["DIGITALOCEAN_ACCESS_TOKEN"],
        "sources": [ { "type": "store" } ],
        "expected_prefixes": ["dop_v1_", "doo_v1_"],
        "token_kinds": [
          { "prefix": "dop_v1_", "name": "personal access token" },
          { "prefix": "doo_v1_", "name": "OAuth token" }
        ]
        }
        """
}
