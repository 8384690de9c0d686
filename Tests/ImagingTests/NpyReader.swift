import Foundation

/// Minimal .npy reader for the fixtures (uint8 and little-endian float32, C order); the
/// Formats library's reader is separate work and this test target does not depend on it.
struct Npy {
    var descr: String
    var shape: [Int]
    var data: [UInt8]

    init(path: String) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        guard bytes.count > 10, bytes[0] == 0x93, String(decoding: bytes[1..<6], as: UTF8.self) == "NUMPY" else {
            throw NSError(domain: "npy", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(path): not a .npy file"])
        }
        let major = bytes[6]
        let headerLength = major == 1 ? Int(bytes[8]) | Int(bytes[9]) << 8
            : Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
        let start = major == 1 ? 10 : 12
        let header = String(decoding: bytes[start..<(start + headerLength)], as: UTF8.self)
        func field(_ key: String) -> String {
            guard let r = header.range(of: "'\(key)': ") else { return "" }
            let rest = header[r.upperBound...]
            if rest.hasPrefix("'") { return String(rest.dropFirst().prefix(while: { $0 != "'" })) }
            if rest.hasPrefix("(") { return String(rest.dropFirst().prefix(while: { $0 != ")" })) }
            return String(rest.prefix(while: { $0 != "," }))
        }
        descr = field("descr")
        shape = field("shape").split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard field("fortran_order") == "False" else {
            throw NSError(domain: "npy", code: 2, userInfo: [NSLocalizedDescriptionKey: "\(path): Fortran order"])
        }
        data = Array(bytes[(start + headerLength)...])
    }

    var uint8s: [UInt8] { precondition(descr == "|u1"); return data }

    var floats: [Float] {
        precondition(descr == "<f4")
        return stride(from: 0, to: data.count, by: 4).map {
            Float(bitPattern: UInt32(data[$0]) | UInt32(data[$0 + 1]) << 8 | UInt32(data[$0 + 2]) << 16 | UInt32(data[$0 + 3]) << 24)
        }
    }
}
