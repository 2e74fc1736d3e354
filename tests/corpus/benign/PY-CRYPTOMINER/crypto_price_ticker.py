# Benign look-alike: shows Monero and Bitcoin prices (crypto words, a JSON API), no mining.
import json
import urllib.request

COINS = ("bitcoin", "monero", "ethereum")


def prices(currency="eur"):
    url = "https://prices.example.com/simple/price?ids=" + ",".join(COINS) + "&vs_currencies=" + currency
    with urllib.request.urlopen(url, timeout=10) as response:
        data = json.load(response)
    return {coin: data.get(coin, {}).get(currency) for coin in COINS}
