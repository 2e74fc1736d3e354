# Benign look-alike: waits for a service with bash's /dev/tcp port probe (no shell is attached to the connection).
import subprocess


def wait_for(host: str, port: int) -> bool:
    probe = f"timeout 1 bash -c 'echo > /dev/tcp/{host}/{port}'"
    return subprocess.run(["bash", "-c", probe]).returncode == 0
