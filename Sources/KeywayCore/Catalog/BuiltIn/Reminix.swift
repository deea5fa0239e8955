extension AppCatalog {
    // Reminix: explicit argument > REMINIX_API_KEY; token kinds by prefix.
    static let reminixJSON = """
        {
          "name": "reminix",
          "env": ["REMINIX_API_KEY"],
          "sources": [ { "type": "store" } ],
          "expected_prefixes": ["reminix_sk_", "reminix_ct_", "reminix_pat_"],
          "token_kinds": [
            { "prefix": "reminix_sk_", "name": "server API key" },
            { "prefix": "reminix_ct_", "name": "client token",
              "warning": "This is a Reminix client token (reminix_ct_): client tokens are short-lived (typically 1 hour) and meant for browser-side calls only, so a stored one soon stops working. For the CLI, scripts and automation use a personal access token (reminix_pat_); for server-side calls, an API key (reminix_sk_)." },
            { "prefix": "reminix_pat_", "name": "personal access token" }
          ]
        }
        """
}
