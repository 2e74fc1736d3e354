# Benign look-alike: stores and reads the plugin's own API token in the system keyring.
import keyring

SERVICE = "plugyard-textkit"


def token(user: str) -> str | None:
    return keyring.get_password(SERVICE, user)


def save_token(user: str, value: str) -> None:
    keyring.set_password(SERVICE, user, value)
