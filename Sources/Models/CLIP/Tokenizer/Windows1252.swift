/// ftfy's "sloppy-windows-1252": Windows-1252 where the five undefined bytes (0x81, 0x8D, 0x8F,
/// 0x90, 0x9D) decode to the same-valued C1 code point, so every byte has a character.
enum Windows1252 {
    /// Characters of bytes 0x80...0x9F (0xA0...0xFF equal their Latin-1 code points).
    private static let high: [UInt32] = [
        0x20AC, 0x81, 0x201A, 0x192, 0x201E, 0x2026, 0x2020, 0x2021,
        0x2C6, 0x2030, 0x160, 0x2039, 0x152, 0x8D, 0x17D, 0x8F,
        0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
        0x2DC, 0x2122, 0x161, 0x203A, 0x153, 0x9D, 0x17E, 0x178,
    ]

    static func scalar(forByte b: UInt8) -> Unicode.Scalar {
        if (0x80...0x9F).contains(b) { return Unicode.Scalar(high[Int(b) - 0x80])! }
        return Unicode.Scalar(b)
    }

    private static let encodeTable: [UInt32: UInt8] = {
        var t: [UInt32: UInt8] = [:]
        for b in 0x80...0x9F { t[high[b - 0x80]] = UInt8(b) }
        return t
    }()

    /// The byte that decodes to `s`, or nil if the encoding has none.
    static func byte(for s: Unicode.Scalar) -> UInt8? {
        if s.value < 0x80 || (0xA0...0xFF).contains(s.value) { return UInt8(s.value) }
        return encodeTable[s.value]
    }
}
