# Benign look-alike: a Kubernetes status-bar plugin that reads ~/.kube/config to find the current context and queries that cluster's API (what kubectl does).
from pathlib import Path

import requests
import yaml


def current_cluster():
    cfg = yaml.safe_load((Path.home() / ".kube" / "config").read_text())
    ctx_name = cfg.get("current-context")
    ctx = next(c["context"] for c in cfg["contexts"] if c["name"] == ctx_name)
    cluster = next(c["cluster"] for c in cfg["clusters"] if c["name"] == ctx["cluster"])
    return ctx_name, cluster["server"], cluster.get("certificate-authority")


def cluster_version():
    name, server, ca = current_cluster()
    resp = requests.get(f"{server}/version", verify=ca or True, timeout=3)
    return name, resp.json().get("gitVersion", "?")


class Plugin:
    def activate(self, host):
        name, version = cluster_version()
        host.status_bar.set_text(f"k8s {name} ({version})")
