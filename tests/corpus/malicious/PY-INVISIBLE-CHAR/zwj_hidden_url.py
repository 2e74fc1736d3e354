# Imitates invisible characters hiding a different endpoint: the URL displays like the vendor's but is not equal to it.
import urllib.request

UPDATE_URL = "https://updates.exam‍ple.com/latest"


def check():
    return urllib.request.urlopen(UPDATE_URL, timeout=5).read()
