# Benign look-alike: works in a temporary directory and removes it afterwards.
import os
import shutil
import tempfile


def convert(data: bytes) -> bytes:
    workdir = tempfile.mkdtemp(prefix="plugyard-")
    try:
        path = os.path.join(workdir, "input.bin")
        with open(path, "wb") as handle:
            handle.write(data)
        os.remove(path)
        return data[::-1]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
