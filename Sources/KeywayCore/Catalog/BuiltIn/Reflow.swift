extension AppCatalog {
    // Reflow: -k key file > reflow.key at the root of the current git repository > $HOME/.reflow/api.key >
    // login (Keyway's store). No environment variable.
    static let reflowJSON = """
        {
          "name": "reflow",
          "env": [],
          "sources": [
            { "type": "git-root", "file": "reflow.key" },
            { "type": "raw", "path": "~/.reflow/api.key" },
            { "type": "store" }
          ],
          "not_found": "API key is required. Pass a key file with --key-file (reflow's -k), put reflow.key at the root of the git repository or the key in ~/.reflow/api.key, or run `{login}`."
        }
        """
}
