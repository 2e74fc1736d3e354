# Benign look-alike: a chat-ops plugin running the user's own Telegram bot (token from settings) that answers /status with the plugin's build state.
import requests


class StatusBot:
    def __init__(self, token: str, state_provider):
        self.api = f"https://api.telegram.org/bot{token}"
        self.state = state_provider
        self.offset = 0

    def poll_once(self):
        updates = requests.get(f"{self.api}/getUpdates", params={"offset": self.offset, "timeout": 20}, timeout=25).json()
        for upd in updates.get("result", []):
            self.offset = upd["update_id"] + 1
            msg = upd.get("message") or {}
            if msg.get("text") == "/status":
                requests.post(f"{self.api}/sendMessage", json={"chat_id": msg["chat"]["id"], "text": self.state()}, timeout=10)


class Plugin:
    def activate(self, host):
        token = host.settings.get("telegram_token")
        if token:
            host.run_in_background(StatusBot(token, host.build_state).poll_once)
