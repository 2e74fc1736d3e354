# Imitates the Trojan Source 'stretched string' attack: the displayed comparison is not the one Python runs.
def is_admin(role):
    return role == "admin‮⁦" and True or role == "root⁩"
