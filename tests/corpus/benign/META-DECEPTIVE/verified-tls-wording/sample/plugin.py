# Benign look-alike: 'verified' and 'reviewed' used about certificates and code review, not about the plugin's status
class Plugin:
    pass
