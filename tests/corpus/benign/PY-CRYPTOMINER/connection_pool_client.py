# Benign look-alike: an HTTP client with a connection pool and a database pool host name.
import json
import urllib.request

API = "https://api.example.com/v1/stats"
DB_POOL_HOST = "db-pool.internal.example.com:6432"


def fetch_stats():
    with urllib.request.urlopen(API, timeout=10) as response:
        return json.load(response)


def pool_settings():
    return {"host": DB_POOL_HOST, "min_size": 1, "max_size": 10, "timeout": 30}
