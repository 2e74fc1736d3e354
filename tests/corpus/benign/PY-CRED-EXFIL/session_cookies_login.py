# Benign look-alike: logs in to the plugin's own web service with a requests session and its cookies.
import requests


class Client:
    def __init__(self, base: str = "https://app.example.com"):
        self.base = base
        self.session = requests.Session()

    def login(self, user: str, password: str) -> None:
        response = self.session.post(f"{self.base}/login", data={"user": user, "password": password}, timeout=10)
        response.raise_for_status()
        self.cookies = dict(response.cookies)
