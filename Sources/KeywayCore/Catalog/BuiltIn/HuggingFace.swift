extension AppCatalog {
    // Hugging Face (huggingface_hub, the hf CLI): HF_TOKEN (legacy HUGGING_FACE_HUB_TOKEN), then the token file
    // ~/.cache/huggingface/token, which HF_HOME (its directory) and HF_TOKEN_PATH (the file) move; tokens start with hf_.
    static let huggingfaceJSON = """
        {
        "name": "huggingface",
        "env": ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"],
        "sources": [
          { "type": "raw", "path": "~/.cache/huggingface/token", "dir_env": "HF_HOME", "file_env": "HF_TOKEN_PATH" },
          { "type": "store" }
        ],
        "expected_prefixes": ["hf_"]
        }
        """
}
