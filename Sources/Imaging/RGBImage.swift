/// An 8-bit RGB image: `pixels` holds `height` rows of `width` pixels, each R, G, B (interleaved).
/// The plain struct every part of nada-edit passes around; tensors are built from it elsewhere.
public struct RGBImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    /// Wraps existing pixels; throws when the buffer does not hold exactly width*height*3 bytes.
    public init(width: Int, height: Int, pixels: [UInt8]) throws {
        guard width > 0, height > 0 else {
            throw ImagingError.invalidArgument("image size \(width)x\(height) must be positive")
        }
        guard pixels.count == width * height * 3 else {
            throw ImagingError.invalidArgument(
                "\(width)x\(height) RGB image needs \(width * height * 3) bytes, got \(pixels.count)")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A solid image (handy for tests and padding).
    public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
        precondition(width > 0 && height > 0, "image size must be positive")
        self.width = width
        self.height = height
        var p = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            p[3 * i] = fill.0
            p[3 * i + 1] = fill.1
            p[3 * i + 2] = fill.2
        }
        self.pixels = p
    }

    /// Internal unchecked initializer for code that has already sized the buffer.
    init(uncheckedWidth width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    public var pixelCount: Int { width * height }

    /// The pixel at column x, row y.
    public subscript(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        let i = 3 * (y * width + x)
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }
}
