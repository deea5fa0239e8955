extension AppCatalog {
    // GitLab (glab): GITLAB_TOKEN, then its aliases GITLAB_ACCESS_TOKEN and OAUTH_TOKEN; personal access tokens
    // start with glpat-. glab's config.yml keys its tokens by host (hosts.<host>.token), not by profile: left out.
    static let gitlabJSON = """
        {
        "name": "gitlab",
        "env": ["GITLAB_TOKEN", "GITLAB_ACCESS_TOKEN", "OAUTH_TOKEN"],
        "sources": [ { "type": "store" } ],
        "expected_prefixes": ["glpat-", "gldt-", "glptt-", "glrt-"],
        "token_kinds": [
          { "prefix": "glpat-", "name": "personal access token" },
          { "prefix": "gldt-", "name": "deploy token" },
          { "prefix": "glptt-", "name": "pipeline trigger token" },
          { "prefix": "glrt-", "name": "runner authentication token" }
        ]
        }
        """
}
