extension AppCatalog {
    // PyPI (twine): TWINE_PASSWORD (with TWINE_USERNAME=__token__), then ~/.pypirc (twine's --config-file
    // default; the packaging guide's "The .pypirc file"), an INI file read by configparser: the password of the
    // section [pypi], a Keyway profile NAME reading the section [NAME] (twine --repository NAME); username (for a
    // token __token__) as the account. twine's fallback to a [server-login] section is not read. API tokens start
    // with pypi-.
    static let pypiJSON = """
        {
        "name": "pypi",
        "env": ["TWINE_PASSWORD"],
        "sources": [
          { "type": "ini", "path": "~/.pypirc", "entry": ["pypi"], "profile_entry": ["{profile}"],
            "key_field": "password", "account_field": "username" },
          { "type": "store" }
        ],
        "expected_prefixes": ["pypi-"]
        }
        """
}
