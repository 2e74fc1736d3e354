# Benign look-alike: a health check that resolves the configured service hostnames with getaddrinfo and reports which ones fail.
import socket

SERVICES = {
    "api": ("api.example.com", 443),
    "db": ("db.internal.example.com", 5432),
    "cache": ("cache.internal.example.com", 6379),
}


def resolve_all(services: dict) -> dict[str, list[str]]:
    results = {}
    for name, (host, port) in services.items():
        try:
            infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
            results[name] = sorted({info[4][0] for info in infos})
        except socket.gaierror:
            results[name] = []
    return results


class Plugin:
    def check(self) -> dict[str, bool]:
        return {name: bool(addrs) for name, addrs in resolve_all(SERVICES).items()}
