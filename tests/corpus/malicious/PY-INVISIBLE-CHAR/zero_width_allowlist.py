# Imitates zero-width tricks: an allow-list entry that reads as 'admin' but holds a zero-width space, so the real check never matches.
BLOCKED_USERS = {"ad​min", "ro​ot"}


def may_login(user):
    return user not in BLOCKED_USERS
