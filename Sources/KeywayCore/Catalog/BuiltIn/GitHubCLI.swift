extension AppCatalog {
    // GitHub CLI (gh): GH_TOKEN, then GITHUB_TOKEN (gh's documented order, `gh help environment`). gh's own
    // hosts.yml (a map keyed by host) and its keyring item gh:github.com are not sources Keyway's spec format can express
    // yet (a YAML map at the top level; a foreign keyring item), so they are left out.
    static let githubCLIJSON = """
        {
        "name": "gh",
        "env": ["GH_TOKEN", "GITHUB_TOKEN"],
        "sources": [ { "type": "store" } ],
        "expected_prefixes": ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
        "token_kinds": [
          { "prefix": "ghp_", "name": "personal access token (classic)" },
          { "prefix": "github_pat_", "name": "fine-grained personal access token" },
          { "prefix": "gho_", "name": "OAuth access token" },
          { "prefix": "ghu_", "name": "GitHub App user access token" },
          { "prefix": "ghs_", "name": "GitHub App installation access token" },
          { "prefix": "ghr_", "name": "refresh token" }
        ],
        "not_found": "gh: no token. Run `{login}` or set {env} (or GITHUB_TOKEN)."
        }
        """
}
