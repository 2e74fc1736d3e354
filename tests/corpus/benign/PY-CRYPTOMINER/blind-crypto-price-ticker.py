# Benign look-alike: a status-bar ticker that shows Bitcoin/Monero prices and the network hashrate fetched from a JSON API.
import requests

API = "https://prices.example.com/v1/ticker"
COINS = ("bitcoin", "monero", "ethereum")


def fetch_prices(currency: str = "usd") -> dict[str, float]:
    resp = requests.get(API, params={"ids": ",".join(COINS), "vs": currency}, timeout=10)
    resp.raise_for_status()
    return {coin: float(resp.json()[coin][currency]) for coin in COINS}


def network_hashrate(coin: str) -> float:
    resp = requests.get(f"https://prices.example.com/v1/network/{coin}", timeout=10)
    return float(resp.json().get("hashrate", 0.0))


class Plugin:
    def status_text(self) -> str:
        prices = fetch_prices()
        xmr_rate = network_hashrate("monero") / 1e9
        return " | ".join(f"{c[:3].upper()} ${p:,.0f}" for c, p in prices.items()) + f" | XMR net {xmr_rate:.2f} GH/s"
