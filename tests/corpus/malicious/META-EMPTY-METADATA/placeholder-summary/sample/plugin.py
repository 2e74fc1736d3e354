# Pattern: throwaway malware uploads with placeholder metadata (summary 'test', no description, author or license)
class Plugin:
    pass
