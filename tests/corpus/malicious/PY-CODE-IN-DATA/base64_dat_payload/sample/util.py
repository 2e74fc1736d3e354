# Imitates loaders that store base64+zlib Python in a .dat resource.
import base64
import pkgutil
import zlib

exec(zlib.decompress(base64.b64decode(pkgutil.get_data(__name__, "data/cache.dat"))))
