extension AppCatalog {
    // PyPI (twine): TWINE_PASSWORD (with TWINE_USERNAME=__token__); API tokens start with pypi-. ~/.pypirc is INI,
    // which Keyway's specs cannot read yet: left out.
    static let pypiJSON = """
        {
        "name": "pypi",
        "env": ["TWINE_PASSWORD"],
        "sources": [ { "type": "store" } ],
        "expected_prefixes": ["pypi-"]
        }
        """
}
