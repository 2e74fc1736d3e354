# Benign look-alike: resolves a Kubernetes service name built from the host name and namespace.
import os
import socket


def peer_address(service: str) -> str:
    namespace = os.environ.get("POD_NAMESPACE", "default")
    return socket.gethostbyname(f"{service}.{namespace}.svc.cluster.local")


def self_check() -> str:
    return socket.gethostbyname(socket.gethostname() + ".local")
