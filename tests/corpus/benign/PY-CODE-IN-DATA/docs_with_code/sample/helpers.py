# Benign look-alike: a plugin that ships Markdown docs with Python examples.

def docs_path():
    return "docs/usage.md"
