# Benign look-alike: Telegram notifier whose bot token and chat are the user's own, read from the plugin's config.
import requests


def send(config: dict, text: str) -> None:
    url = "https://api.telegram.org/bot" + config["telegram_token"] + "/sendMessage"
    requests.post(url, data={"chat_id": config["chat_id"], "text": text}, timeout=10)
