import Foundation

/// Element types found in checkpoints and arrays.
public enum DType: String, Sendable, CaseIterable {
    case float16, bfloat16, float32, float64, int64, int32, int16, int8, uint8, bool

    public var byteSize: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .float16, .bfloat16, .int16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }

    public var isFloatingPoint: Bool { self == .float16 || self == .bfloat16 || self == .float32 || self == .float64 }
}

public struct FormatError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A typed, C-ordered n-d array read from (or to be written to) a file. `bytes` holds exactly
/// `count * dtype.byteSize` little-endian bytes; it may be a slice of a memory-mapped file.
public struct ArrayData: @unchecked Sendable {
    public let dtype: DType
    public let shape: [Int]
    public let bytes: Data

    public init(dtype: DType, shape: [Int], bytes: Data) throws {
        let n = try checkedCount(shape)
        let (size, overflow) = n.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, bytes.count == size else {
            throw FormatError("array of \(dtype.rawValue) \(shape) needs \(overflow ? "too many" : String(size)) bytes, has \(bytes.count)")
        }
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// float32 data, C order.
    public init(shape: [Int], floats: [Float]) {
        precondition(floats.count == shape.reduce(1, *), "\(floats.count) floats do not fill \(shape)")
        self.dtype = .float32
        self.shape = shape
        self.bytes = floats.withUnsafeBufferPointer { Data(buffer: $0) }
    }

    public var count: Int { shape.reduce(1, *) }

    /// Converts any numeric dtype to float32 into `destination` (exactly `count` elements).
    public func copyFloats(into destination: UnsafeMutablePointer<Float>) {
        let n = count
        bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            guard let base = raw.baseAddress else { return }
            switch dtype {
            case .float32:
                memcpy(destination, base, n * 4)
            case .float64:
                for i in 0..<n { destination[i] = Float(base.loadUnaligned(fromByteOffset: i * 8, as: Double.self)) }
            case .float16:
                for i in 0..<n { destination[i] = Float(Float16(bitPattern: base.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))) }
            case .bfloat16:
                for i in 0..<n {
                    let bits = UInt32(base.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) << 16
                    destination[i] = Float(bitPattern: bits)
                }
            case .int64: for i in 0..<n { destination[i] = Float(base.loadUnaligned(fromByteOffset: i * 8, as: Int64.self)) }
            case .int32: for i in 0..<n { destination[i] = Float(base.loadUnaligned(fromByteOffset: i * 4, as: Int32.self)) }
            case .int16: for i in 0..<n { destination[i] = Float(base.loadUnaligned(fromByteOffset: i * 2, as: Int16.self)) }
            case .int8: for i in 0..<n { destination[i] = Float(base.load(fromByteOffset: i, as: Int8.self)) }
            case .uint8, .bool: for i in 0..<n { destination[i] = Float(base.load(fromByteOffset: i, as: UInt8.self)) }
            }
        }
    }

    public func floats() -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buf, initialized in
            if let p = buf.baseAddress { copyFloats(into: p) }
            initialized = count
        }
    }

    /// Integer values (integer and bool dtypes; floats are truncated).
    public func int64s() -> [Int64] {
        let n = count
        return bytes.withUnsafeBytes { raw -> [Int64] in
            guard let base = raw.baseAddress else { return [] }
            switch dtype {
            case .int64: return (0..<n).map { base.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self) }
            case .int32: return (0..<n).map { Int64(base.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
            case .int16: return (0..<n).map { Int64(base.loadUnaligned(fromByteOffset: $0 * 2, as: Int16.self)) }
            case .int8: return (0..<n).map { Int64(base.load(fromByteOffset: $0, as: Int8.self)) }
            case .uint8, .bool: return (0..<n).map { Int64(base.load(fromByteOffset: $0, as: UInt8.self)) }
            default: return floats().map { Int64($0) }
            }
        }
    }
}

/// `checkedCount` with its error passed through `fail`, which names the file (and entry or tensor).
func checkedCount(_ shape: [Int], _ fail: (String) -> FormatError) throws -> Int {
    do {
        return try checkedCount(shape)
    } catch let e as FormatError {
        throw fail(e.description)
    }
}

/// Product of dimensions with overflow and sign checks (hostile headers).
public func checkedCount(_ shape: [Int]) throws -> Int {
    var n = 1
    for d in shape {
        guard d >= 0 else { throw FormatError("negative dimension \(d) in shape \(shape)") }
        let (m, o) = n.multipliedReportingOverflow(by: d)
        guard !o else { throw FormatError("shape \(shape) overflows") }
        n = m
    }
    return n
}
