extension AppCatalog {
    // GitLab (glab): GITLAB_TOKEN, then its aliases GITLAB_ACCESS_TOKEN and OAUTH_TOKEN, then glab's config.yml in
    // GLAB_CONFIG_DIR, else $XDG_CONFIG_HOME/glab-cli, else ~/.config/glab-cli (glab config path, glab-config-set(1)):
    // hosts.HOST.token (user as the account), HOST from GITLAB_HOST (or its aliases GITLAB_URI, GL_HOST; a URL is cut
    // to its host), else gitlab.com. A repository's .git/glab-cli/config.yml and a token in the keyring
    // (--use-keyring) are not read. Personal access tokens start with glpat-.
    static let gitlabJSON = """
        {
        "name": "gitlab",
        "env": ["GITLAB_TOKEN", "GITLAB_ACCESS_TOKEN", "OAUTH_TOKEN"],
        "sources": [
          { "type": "yaml", "path": "~/.config/glab-cli/config.yml", "dir_env": "GLAB_CONFIG_DIR",
            "config_home_env": "XDG_CONFIG_HOME", "host_env": ["GITLAB_HOST", "GITLAB_URI", "GL_HOST"],
            "default_host": "gitlab.com", "entry": ["hosts", "{host}"], "key_field": "token", "account_field": "user" },
          { "type": "store" }
        ],
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
