"""png_colour_count.py PNG R,G,B [R,G,B ...]: prints, for each colour, how many pixels of the PNG
are within 12 of it on every channel (the e2e test's check that a screenshot shows the report's
bars). Standard library only: PNG is zlib-compressed scanlines with one filter byte each."""
import struct
import sys
import zlib


def pixels(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"{path}: not a PNG")
    pos, idat, width, height, colour_type = 8, b"", 0, 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour_type = struct.unpack(">IIBB", body[:10])
            if depth != 8 or colour_type not in (2, 6):
                sys.exit(f"{path}: unsupported PNG (depth {depth}, colour type {colour_type})")
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    channels = 4 if colour_type == 6 else 3
    raw = zlib.decompress(idat)
    stride = width * channels
    previous = bytearray(stride)
    out = []
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            up_left = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else up_left)) & 255
        out.append(line)
        previous = line
    return out, width, channels


def main():
    rows, width, channels = pixels(sys.argv[1])
    targets = [tuple(int(v) for v in arg.split(",")) for arg in sys.argv[2:]]
    counts = [0] * len(targets)
    for line in rows:
        for x in range(width):
            r, g, b = line[x * channels:x * channels + 3]
            for k, (tr, tg, tb) in enumerate(targets):
                if abs(r - tr) <= 12 and abs(g - tg) <= 12 and abs(b - tb) <= 12:
                    counts[k] += 1
    print(" ".join(str(c) for c in counts))


if __name__ == "__main__":
    main()
