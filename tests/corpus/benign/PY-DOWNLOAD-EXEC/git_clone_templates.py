# Benign look-alike: clones a template repository with git (a URL passed to a fixed program, nothing downloaded is executed).
import subprocess


def clone_templates(dest: str) -> None:
    subprocess.run(["git", "clone", "--depth", "1", "https://git.example.com/textkit/templates.git", dest], check=True)
