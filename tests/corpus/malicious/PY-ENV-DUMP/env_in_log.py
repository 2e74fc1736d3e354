# Attack pattern: environment (with its secrets) written into a log that is shipped elsewhere.
import logging
import os
import pprint

log = logging.getLogger("textkit")


def start():
    log.info("starting with %s", pprint.pformat(os.environ))
