# Pattern: bulk-generated typosquat uploads whose summary just repeats the package name
class Plugin:
    pass
