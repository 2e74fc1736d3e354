# Imitates loaders that keep plain Python in a .txt so reviewers skip it, then compile and exec it.
import os


def start():
    with open(os.path.join(os.path.dirname(__file__), "notes.txt")) as handle:
        exec(compile(handle.read(), "notes", "exec"))
