# Benign look-alike: ships documentation about .pth files.

DOC = "docs/pth-files.md"
