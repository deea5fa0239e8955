extension AppCatalog {
    // Reactor: ~/.reactor/credentials (JSON: api_key, partner_id, registry...), keys start with rp_.
    static let reactorJSON = """
        {
          "name": "reactor",
          "env": [],
          "sources": [
            { "type": "json", "path": "~/.reactor/credentials", "key_field": "api_key",
              "organization_field": "partner_id" },
            { "type": "store" }
          ],
          "required_prefixes": ["rp_"],
          "prefix_message": "Invalid API key: verify your key in the Dashboard. Keys start with rp_.",
          "not_found": "Credentials file not found. Run `{login}` again."
        }
        """
}
