# Benign look-alike: a module about "customizing" the plugin, with a customize() hook; not a start-up hook.
DEFAULTS = {"theme": "light", "font_size": 12}


def customize(settings=None):
    merged = dict(DEFAULTS)
    merged.update(settings or {})
    return merged
