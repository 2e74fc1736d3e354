# Benign look-alike: a summary that starts with the plugin's name and says what it does
class Plugin:
    pass
