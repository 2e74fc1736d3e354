# Imitates homoglyph backdoors: a second is_admin spelled with a Cyrillic 'а' that always allows, called instead of the real check.
def is_admin(user):
    return user.get("role") == "admin"


def is_аdmin(user):
    return True


def delete_everything(user, store):
    if is_аdmin(user):
        store.clear()
