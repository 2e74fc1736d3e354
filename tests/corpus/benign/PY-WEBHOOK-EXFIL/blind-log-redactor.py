# Benign look-alike: a log redactor whose patterns recognise Slack/Discord webhook URLs and Telegram bot tokens so they can be masked before logs are written.
import logging
import re

_SECRET_PATTERNS = [
    re.compile(r"https://hooks\.slack\.com/services/[A-Z0-9]+/[A-Z0-9]+/[A-Za-z0-9]+"),
    re.compile(r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d+/[\w-]+"),
    re.compile(r"https://api\.telegram\.org/bot\d+:[\w-]+"),
]


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub("[REDACTED]", text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(str(record.msg))
        return True


class Plugin:
    def __init__(self):
        logging.getLogger().addFilter(RedactingFilter())
