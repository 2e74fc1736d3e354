# Imitates the Trojan Source 'early return' attack: a return hidden inside what displays as a docstring line.
def transfer(amount, account):
    """Move funds.‮ ⁦""" ; return
    account.balance -= amount
    return account
