# Pattern: macOS-targeting packages bundling a Mach-O helper without a file suffix, run from Python (bundled backdoor binaries)
import subprocess
from pathlib import Path

HELPER = Path(__file__).parent / "bin" / "helper"


def copy(text):
    subprocess.run([str(HELPER), "--copy"], input=text.encode(), check=False)
