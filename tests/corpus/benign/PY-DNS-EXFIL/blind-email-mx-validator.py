# Benign look-alike: validates e-mail addresses by IDNA-encoding the domain and looking up its MX records with dnspython.
import re

import dns.exception
import dns.resolver

_LOCAL = re.compile(r"^[A-Za-z0-9._%+-]+$")


def mx_hosts(domain: str) -> list[str]:
    ascii_domain = domain.encode("idna").decode("ascii")
    try:
        answers = dns.resolver.resolve(ascii_domain, "MX", lifetime=3)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.exception.Timeout):
        return []
    return [str(r.exchange).rstrip(".") for r in sorted(answers, key=lambda r: r.preference)]


def validate(address: str) -> bool:
    local, _, domain = address.rpartition("@")
    if not local or not _LOCAL.match(local):
        return False
    return bool(mx_hosts(domain))


class Plugin:
    def on_signup(self, form: dict) -> list[str]:
        return [] if validate(form.get("email", "")) else ["email: domain does not accept mail"]
