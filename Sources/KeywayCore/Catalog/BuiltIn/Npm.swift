extension AppCatalog {
    // npm: NPM_TOKEN (the variable .npmrc files and CI setups reference as ${NPM_TOKEN}; npm itself reads it only
    // that way), then npm's user config ~/.npmrc (npmrc(5): the userconfig setting, NPM_CONFIG_USERCONFIG in any
    // letter case, moves it), its //REGISTRY/:_authToken entry for the registry in force (npm_config_registry, else
    // the file's registry=, else https://registry.npmjs.org/; npm's "nerf dart" of the URL). ${VAR} in the token
    // is npm's environment replacement; unset, it is an error (npm would send the text as the token). The project's
    // .npmrc and the global npmrc are not read. Tokens start with npm_.
    static let npmJSON = """
        {
        "name": "npm",
        "env": ["NPM_TOKEN"],
        "sources": [
          { "type": "npmrc", "path": "~/.npmrc", "file_env": "NPM_CONFIG_USERCONFIG" },
          { "type": "store" }
        ],
        "expected_prefixes": ["npm_"]
        }
        """
}
