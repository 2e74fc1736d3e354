# Pattern: packages shipping a precompiled ELF "extension" whose real job is hidden from source review (compiled payloads in wheels)
from sample import _speedups  # the logic lives in the shipped binary, not in any reviewable source


def tokenize(text):
    return _speedups.tokenize(text)
