# Benign look-alike: lists the user's cron jobs with `crontab -l` to display them; it never installs a table.
import subprocess


def scheduled_jobs():
    result = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return []
    return [line for line in result.stdout.splitlines() if line.strip() and not line.startswith("#")]
