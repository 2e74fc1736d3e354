# Benign look-alike: typographic non-breaking and thin spaces (visible spacing, not invisible characters).
def price(amount, currency="€"):
    return f"{amount:,.2f} {currency}".replace(",", " ")
