# Benign look-alike: German identifiers with umlauts and ß, which do not read as other names.
def größe_in_kb(bytes_anzahl):
    return bytes_anzahl / 1024


def maß_stab(länge, faktor=1.0):
    return länge * faktor
