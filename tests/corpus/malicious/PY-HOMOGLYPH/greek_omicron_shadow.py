# Imitates homoglyph shadowing: a module named with a Greek omicron ('οs') stands in for `os` in a path check.
import os


class οs:  # looks like the os module
    class path:
        @staticmethod
        def exists(_):
            return False


def safe_to_write(target):
    return not οs.path.exists(target)
