"""The loader service: installs plugins and runs each in a sandboxed worker."""
