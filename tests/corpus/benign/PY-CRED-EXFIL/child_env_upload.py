# Benign look-alike: copies the environment for a child process's env, then uploads the tool's output file.
import os
import subprocess

import requests


def render_and_upload(source: str) -> None:
    env = os.environ.copy()
    env["LC_ALL"] = "C.UTF-8"
    subprocess.run(["pandoc", source, "-o", "out.pdf"], env=env, check=True)
    with open("out.pdf", "rb") as handle:
        requests.post("https://docs.example.com/api/upload", files={"file": handle}, timeout=60)
