extension AppCatalog {
    // npm: NPM_TOKEN (the variable .npmrc files and CI setups reference as ${NPM_TOKEN}); tokens start with npm_.
    // ~/.npmrc's //registry/:_authToken= lines are an INI-like format Keyway's specs cannot read yet: left out.
    static let npmJSON = """
        {
        "name": "npm",
        "env": ["NPM_TOKEN"],
        "sources": [ { "type": "store" } ],
        "expected_prefixes": ["npm_"]
        }
        """
}
