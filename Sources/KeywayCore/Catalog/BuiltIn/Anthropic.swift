extension AppCatalog {
    // Anthropic (the SDKs, Claude Code): ANTHROPIC_API_KEY; API keys start with sk-ant-api03-, admin keys with
    // sk-ant-admin01-.
    static let anthropicJSON = """
        {
        "name": "anthropic",
        "env": ["ANTHROPIC_API_KEY"],
        "sources": [ { "type": "store" } ],
        "expected_prefixes": ["sk-ant-"],
        "token_kinds": [
          { "prefix": "sk-ant-api03-", "name": "API key" },
          { "prefix": "sk-ant-admin01-", "name": "admin key",
            "warning": "This is an Anthropic admin key (sk-ant-admin01-): it manages the organization, not API calls." }
        ]
        }
        """
}
