# Benign look-alike: looks up an SRV record for a service under the user's domain.
import dns.resolver


def find_servers(domain: str) -> list[str]:
    answers = dns.resolver.resolve(f"_textkit._tcp.{domain}", "SRV")
    return [str(answer.target).rstrip(".") for answer in answers]
