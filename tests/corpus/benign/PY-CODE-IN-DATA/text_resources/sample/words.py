# Benign look-alike: reads word lists (one word a line, including 'import' and 'exec') from .txt resources.
import pkgutil


def stopwords():
    return set(pkgutil.get_data(__name__, "data/stopwords.txt").decode().split())
