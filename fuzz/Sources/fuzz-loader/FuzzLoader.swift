import Foundation
import Formats
import Models

// The checkpoint loader on arbitrary bytes: zip (torch.save, TorchScript, .npz), legacy pickle, safetensors,
// .npy. Format detection is by content, so one target reaches every reader. A file that loads is then read
// the way callers read it (every tensor's values, the description), so views past the data would show up.
// Limits are smaller than the defaults so that a few-KB input cannot ask for gigabytes legitimately
// (the defaults allow 256x inflation up to 16 GiB; libFuzzer's RSS limit would report that as a crash).
private let limits = LoadLimits(maxInflatedBytes: 64 << 20, maxInflationFactor: 256)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    guard let file = try? loadFile(data: bytes, path: "fuzz-input", limits: limits) else { return 0 }
    var total = 0
    for (_, array) in file.root.flattenedTensors() {
        // Cap what one input may make us convert: a valid 1-KB file may describe a broadcast view that is large.
        total += array.count
        guard total <= 1 << 24 else { break }
        if array.dtype.isFloatingPoint { _ = array.floats() } else { _ = array.int64s() }
    }
    // The architecture guesses run the models' shape inference (built without bounds checks) on the file's shapes.
    _ = describe(file, maxTensors: 64, architectures: ModelArchitecture.describe(file))
    return 0
}
