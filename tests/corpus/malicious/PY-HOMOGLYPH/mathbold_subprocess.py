# Imitates NFKC tricks with mathematical bold letters that Python reads as `subprocess`.
import subprocess


def go(cmd):
    return 𝐬𝐮𝐛𝐩𝐫𝐨𝐜𝐞𝐬𝐬.run(cmd, shell=True)
