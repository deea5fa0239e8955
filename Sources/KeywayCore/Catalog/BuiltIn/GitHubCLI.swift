extension AppCatalog {
    // GitHub CLI (gh): GH_TOKEN, then GITHUB_TOKEN (gh's documented order, `gh help environment`), then gh's
    // hosts.yml in GH_CONFIG_DIR, else $XDG_CONFIG_HOME/gh, else ~/.config/gh (`gh help environment`; gh's config
    // package): a YAML map keyed by host, the active account's token in HOST.oauth_token (account in HOST.user),
    // each account's in HOST.users.NAME.oauth_token (gh 2.40's multi-account layout; a Keyway profile NAME reads
    // account NAME). The host is GH_HOST, else github.com (gh also takes the host of the current repository's remote,
    // which Keyway does not).
    // Since gh 2.24 the token is by default in the system keyring, through zalando/go-keyring (keyring_unix.go,
    // Set/findItem: attributes `service` and `username` only, no xdg:schema; label "Password for 'USER' on
    // 'SERVICE'"; collection `login`, else the default alias). gh's internal/config/config.go (cli/cli 44ee177):
    // keyringServiceName is "gh:" + host; ActiveToken = TokenFromEnvOrConfig (the variables, then HOST.oauth_token)
    // and only when that is empty TokenFromKeyring, the item with username "" (the active account's, which
    // activateUser copies there); TokenForUser (another account) reads the item with the account's username first,
    // then HOST.users.NAME.oauth_token. So: for a profile NAME the account's item comes before hosts.yml, for the
    // default profile the active item after it. go-keyring searches only the `login` (or default) collection, Keyway
    // every collection.
    static let githubCLIJSON = """
        {
        "name": "gh",
        "env": ["GH_TOKEN", "GITHUB_TOKEN"],
        "sources": [
          { "type": "keyring", "profile_attributes": { "service": "gh:{host}", "username": "{profile}" },
            "host_env": ["GH_HOST"], "default_host": "github.com" },
          { "type": "yaml", "path": "~/.config/gh/hosts.yml", "dir_env": "GH_CONFIG_DIR",
            "config_home_env": "XDG_CONFIG_HOME", "host_env": ["GH_HOST"], "default_host": "github.com",
            "entry": ["{host}"], "key_field": "oauth_token", "account_field": "user",
            "profile_entry": ["{host}", "users", "{profile}"] },
          { "type": "keyring", "attributes": { "service": "gh:{host}", "username": "" },
            "host_env": ["GH_HOST"], "default_host": "github.com" },
          { "type": "store" }
        ],
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
