import Foundation

/// Resource limits for reading untrusted files. The defaults admit every real checkpoint nada-edit
/// reads; a caller (e.g. the CLI, from a flag) may raise them for an unusual but genuine file.
public struct LoadLimits: Sendable, Equatable {
    /// Most bytes that the compressed entries of one zip (torch.save, TorchScript, .npz) may inflate to,
    /// whatever the file's size. 16 GiB is ~10× the largest model nada-edit reads (CLIP ViT-L/14 in
    /// float32, 1.7 GB) and stays below what the machines it targets can allocate.
    public var maxInflatedBytes: Int
    /// Most bytes the compressed entries may inflate to per byte of the file. torch.save and
    /// torch.jit.save store entries uncompressed; np.savez_compressed shrinks float data to 70–95 %;
    /// only long runs of one value (zero masks) deflate further, up to deflate's ~1032:1. 256 leaves room
    /// for files that are mostly such runs, while a bomb that turns kilobytes into gigabytes fails
    /// before anything is inflated (a 269 KB file may inflate to 69 MB).
    public var maxInflationFactor: Int

    public init(maxInflatedBytes: Int = 16 << 30, maxInflationFactor: Int = 256) {
        self.maxInflatedBytes = maxInflatedBytes
        self.maxInflationFactor = maxInflationFactor
    }

    public static let standard = LoadLimits()

    /// The total inflated size allowed for a zip of `fileSize` bytes: min(cap, factor × size).
    func inflatedBudget(fileSize: Int) -> Int {
        let (scaled, overflow) = max(fileSize, 0).multipliedReportingOverflow(by: max(maxInflationFactor, 0))
        return min(max(maxInflatedBytes, 0), overflow ? Int.max : scaled)
    }
}

/// "1.2 GB" style sizes for messages (decimal units, as `ls -h --si` and file managers show them).
func byteCount(_ n: Int) -> String {
    let units = ["bytes", "KB", "MB", "GB", "TB", "PB", "EB"]
    var v = Double(n), u = 0
    while v >= 1000 && u < units.count - 1 { v /= 1000; u += 1 }
    return u == 0 ? "\(n) bytes" : String(format: "%.1f ", v) + units[u]
}
