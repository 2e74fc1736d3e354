# Benign look-alike: sources whose names and text mention .so/.dll/.exe files but are plain Python and text
def describe(path):
    if path.endswith((".so", ".dll", ".dylib", ".exe")):
        return "compiled library or program"
    return "other file"
