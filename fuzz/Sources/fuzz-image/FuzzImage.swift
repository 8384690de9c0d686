import Imaging

// The JPEG and PNG decoders (libjpeg/libpng behind the C shim in CImageCodecs) with EXIF orientation applied,
// the header-only reader, and JPEG DCT-scaled decoding. maxPixels is 4 MP so that a tiny file claiming a
// huge image is refused from its header as in real use, and libFuzzer's RSS limit measures leaks, not photos.
private let full: DecodeOptions = {
    var o = DecodeOptions()
    o.maxPixels = 1 << 22
    return o
}()
private let scaled: DecodeOptions = {
    var o = full
    o.minimumSide = 16
    o.allowCorruptJPEGData = true
    return o
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let header = try? readImageHeader(bytes, name: "fuzz-input") else { return 0 }
    _ = EXIFInfo.read(from: bytes, format: header.format)
    if let image = try? decodeImage(bytes, name: "fuzz-input", options: full) {
        precondition(image.pixels.count == image.width * image.height * 3)
    }
    if let decoded = try? decodeImageWithInfo(bytes, name: "fuzz-input", options: scaled) {
        precondition(decoded.image.pixels.count == decoded.image.width * decoded.image.height * 3)
    }
    return 0
}
