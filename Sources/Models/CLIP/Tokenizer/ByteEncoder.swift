/// GPT-2/CLIP `bytes_to_unicode`: a reversible map from the 256 byte values to printable characters,
/// so BPE can work on strings without whitespace/control characters.
enum ByteEncoder {
    /// Bytes in the table's iteration order (this order defines vocabulary ids 0...255): first the
    /// 188 printable bytes `!`...`~`, `¡`...`¬`, `®`...`ÿ` ascending, then the other 68 ascending.
    static let orderedBytes: [UInt8] = {
        let printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        let set = Set(printable)
        let rest = (0...255).filter { !set.contains($0) }
        return (printable + rest).map { UInt8($0) }
    }()

    /// byte -> character: printable bytes map to themselves, the others to U+0100, U+0101, ... in
    /// increasing byte order.
    static let scalarForByte: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for b in 0...255 {
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            if printable {
                table[b] = Unicode.Scalar(UInt8(b))
            } else {
                table[b] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    static let byteForScalar: [UInt32: UInt8] = {
        var d: [UInt32: UInt8] = [:]
        for b in 0...255 { d[scalarForByte[b].value] = UInt8(b) }
        return d
    }()
}
