"""Writes the small PNG fixtures in fixtures/images/ that our own encoder cannot make
(palette, 16-bit, 2-bit grey, Adam7 interlaced), with plain zlib so the expected pixel values are
known exactly. Run: python3 tools/make_png_fixtures.py (writes next to the package's fixtures)."""
import os, struct, zlib

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "images")

def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)

def png(w, h, depth, color_type, rows, extra=b"", interlace=0, raw_idat=None):
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, interlace)
    idat = raw_idat if raw_idat is not None else b"".join(b"\x00" + r for r in rows)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(idat)) + chunk(b"IEND", b"")

def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)

# palette 3x2, 8-bit indices, with tRNS (which must be ignored: no alpha), one index out of range.
plte = bytes([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30])
write("palette_3x2.png", png(3, 2, 8, 3, [bytes([0, 1, 2]), bytes([3, 2, 7])],
                             extra=chunk(b"PLTE", plte) + chunk(b"tRNS", bytes([0, 128]))))
# palette 1-bit 5x1: indices 1 0 1 1 0 packed MSB first.
write("palette1bit_5x1.png", png(5, 1, 1, 3, [bytes([0b10110000])], extra=chunk(b"PLTE", bytes([1, 2, 3, 200, 150, 100]))))
# 16-bit RGB 2x1: (0x1234, 0xABCD, 0xFF00), (0x0001, 0x7F80, 0x8000) -> high bytes.
write("rgb16_2x1.png", png(2, 1, 16, 2, [struct.pack(">6H", 0x1234, 0xABCD, 0xFF00, 0x0001, 0x7F80, 0x8000)]))
# 16-bit grey+alpha 1x2.
write("gray_alpha16_1x2.png", png(1, 2, 16, 4, [struct.pack(">2H", 0x4000, 0xFFFF), struct.pack(">2H", 0xC0FF, 0x0000)]))
# 2-bit grey 4x1: values 0 1 2 3 -> 0 85 170 255.
write("gray2bit_4x1.png", png(4, 1, 2, 0, [bytes([0b00011011])]))
# Adam7-interlaced 8-bit grey 3x3 with pixel value 10*y + x: passes (sub-images) in Adam7 order.
# 3x3 passes: p1 (0,0); p2 none; p3 none(x=4); p4 (2,0); p5 (0,2),(2,2); p6 (1,0),(1,2); p7 (0,1),(1,1),(2,1).
v = lambda x, y: 10 * y + x
passes = [
    [[v(0, 0)]],
    [[v(2, 0)]],
    [[v(0, 2), v(2, 2)]],
    [[v(1, 0)], [v(1, 2)]],
    [[v(0, 1), v(1, 1), v(2, 1)]],
]
raw = b"".join(b"\x00" + bytes(r) for p in passes for r in p)
write("interlaced_gray_3x3.png", png(3, 3, 8, 0, None, interlace=1, raw_idat=raw))
print("written to", os.path.normpath(OUT))
