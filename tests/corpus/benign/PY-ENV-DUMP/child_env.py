# Benign look-alike: copies the environment to pass a modified env to a child process.
import os
import subprocess


def run_tool(args: list[str]) -> str:
    env = dict(os.environ)
    env["NO_COLOR"] = "1"
    return subprocess.run(args, env=env, capture_output=True, text=True, check=True).stdout
