# Benign look-alike: runs a local command under a pseudo-terminal to capture coloured output (no socket).
import pty


def record(command: list[str], log_path: str) -> None:
    with open(log_path, "wb") as log:
        def read(fd):
            import os

            data = os.read(fd, 1024)
            log.write(data)
            return data

        pty.spawn(command, read)
