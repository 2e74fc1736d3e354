# Benign look-alike: reports where site-packages and the user site are (reads site settings only).
import site
import sys


def locations():
    return {
        "site_packages": site.getsitepackages(),
        "user_site": site.getusersitepackages(),
        "enable_user_site": site.ENABLE_USER_SITE,
        "prefix": sys.prefix,
    }
