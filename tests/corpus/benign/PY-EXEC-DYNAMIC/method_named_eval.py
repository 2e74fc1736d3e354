# Benign look-alike: calls methods that happen to be named eval/compile (a model's eval mode, re.compile), not the builtins.
import re

WORD = re.compile(r"\w+")


class Scorer:
    def __init__(self, model):
        self.model = model

    def score(self, text: str) -> float:
        self.model.eval()
        return self.model.predict(WORD.findall(text))

    def eval(self, data):
        return [self.score(d) for d in data]
