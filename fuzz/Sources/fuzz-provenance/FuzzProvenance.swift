import Imaging

// The provenance reader (`nada-edit info`): JPEG APP1 segments (XMP, EXIF), PNG chunks (iTXt/tEXt/zTXt,
// eXIf), the XMP packet parser and libexif, on arbitrary bytes. Nothing is decoded to pixels here.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let record = try? readProvenance(bytes: bytes, name: "fuzz-input") else { return 0 }
    _ = record.lines
    return 0
}
