# Benign look-alike: a connectivity check resolving the configured service endpoints and reporting which are reachable.
import socket


DEFAULT_ENDPOINTS = ["api.example.com", "cdn.example.com", "status.example.com"]


def resolve_all(hosts):
    results = {}
    for host in hosts:
        try:
            infos = socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)
            results[host] = sorted({info[4][0] for info in infos})
        except socket.gaierror as exc:
            results[host] = f"unresolved: {exc}"
    return results


class Plugin:
    def activate(self, host):
        hosts = host.settings.get("endpoints", DEFAULT_ENDPOINTS)
        host.register_command("net-check", lambda: resolve_all(hosts))
