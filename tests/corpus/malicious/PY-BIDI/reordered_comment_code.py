# Imitates bidi-reordered code review bait: a comment that displays after the code it actually hides.
import subprocess

ALLOWED = ["ls"]  # ⁧", "sh"⁩


def run(cmd):
    if cmd[0] in ALLOWED:
        return subprocess.run(cmd, check=False)
