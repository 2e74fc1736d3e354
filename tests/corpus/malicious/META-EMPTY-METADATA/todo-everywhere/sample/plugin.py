# Pattern: uploads left with template text: TODO summary and description
class Plugin:
    pass
