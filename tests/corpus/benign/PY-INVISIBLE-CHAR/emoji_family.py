# Benign look-alike: emoji ZWJ sequences (family, rainbow flag) in user-facing strings.
REACTIONS = {"family": "👨‍👩‍👧", "pride": "🏳️‍🌈", "cook": "🧑‍🍳"}


def reaction(name):
    return REACTIONS.get(name, "👍")
