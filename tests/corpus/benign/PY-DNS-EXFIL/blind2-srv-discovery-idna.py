# Benign look-alike: service discovery via DNS SRV/TXT records for a user-entered (possibly internationalised) domain, IDNA-encoded before lookup.
import dns.resolver


def to_ascii(domain: str) -> str:
    return domain.encode("idna").decode("ascii")


def discover(domain: str):
    name = to_ascii(domain)
    servers = []
    for rr in dns.resolver.resolve(f"_plugyard._tcp.{name}", "SRV"):
        servers.append((str(rr.target).rstrip("."), rr.port, rr.priority))
    txt = [b"".join(r.strings).decode() for r in dns.resolver.resolve(f"_plugyard.{name}", "TXT")]
    return sorted(servers, key=lambda s: s[2]), txt


class Plugin:
    def activate(self, host):
        host.register_command("discover", lambda: discover(host.settings.get("domain", "example.com")))
