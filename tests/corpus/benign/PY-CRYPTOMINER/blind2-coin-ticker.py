# Benign look-alike: a crypto price and network-hashrate ticker for the status bar (read-only public API, no mining).
import requests

API = "https://api.example.com/v1"


def fetch_stats(coins=("bitcoin", "monero")):
    stats = {}
    for coin in coins:
        data = requests.get(f"{API}/coins/{coin}", timeout=5).json()
        stats[coin] = {
            "price_usd": data["market"]["price_usd"],
            "network_hashrate": data["network"]["hashrate"],
            "block_reward": data["network"].get("block_reward"),
        }
    return stats


class Plugin:
    def activate(self, host):
        s = fetch_stats()
        host.status_bar.set_text(" | ".join(f"{c.upper()} ${v['price_usd']:.0f}" for c, v in s.items()))
