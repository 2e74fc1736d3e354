# Imitates a sitecustomize.py hidden inside the package folder, effective once that folder is on sys.path.
import sys

sys.dont_write_bytecode = True
