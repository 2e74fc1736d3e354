# Imitates the Trojan Source 'commenting-out' attack (CVE-2021-42574): bidi controls make a condition look like a comment.
def can_delete(access_level):
    if access_level != "user‮ ⁦# Check if admin⁩ ⁦":
        return True
    return False
