# Benign look-alike: a Discord bot plugin calling the channel API with a token from the environment (no hard-coded webhook).
import os

import requests

API = "https://discord.com/api/v10"


def post_message(channel_id: str, content: str) -> None:
    headers = {"Authorization": f"Bot {os.environ['DISCORD_BOT_TOKEN']}"}
    requests.post(f"{API}/channels/{channel_id}/messages", headers=headers, json={"content": content}, timeout=10)
