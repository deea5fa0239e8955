extension AppCatalog {
    // OpenAI (the openai CLI and SDKs): OPENAI_API_KEY; keys start with sk- (project keys sk-proj-, service accounts
    // sk-svcacct-, admin keys sk-admin-).
    static let openaiJSON = """
        {
        "name": "openai",
        "env": ["OPENAI_API_KEY"],
        "sources": [ { "type": "store" } ],
        "expected_prefixes": ["sk-"],
        "token_kinds": [
          { "prefix": "sk-proj-", "name": "project API key" },
          { "prefix": "sk-svcacct-", "name": "service account key" },
          { "prefix": "sk-admin-", "name": "admin key",
            "warning": "This is an OpenAI admin key (sk-admin-): it manages the organization. For API calls use a project key (sk-proj-)." }
        ]
        }
        """
}
