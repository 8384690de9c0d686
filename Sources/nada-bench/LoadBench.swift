import Formats
import Foundation

/// `nada-bench load FILE... [--repeats N]`: wall time of reading checkpoints with Formats (zip, legacy pickle,
/// TorchScript, safetensors, npy). Contiguous tensors are views of the memory map, so on a zip checkpoint this
/// is mostly the CRC pass; what used to be an opt-in timed test is a benchmark here.
func runLoadBench(arguments: [String], repeats: Int) {
    let files = arguments.filter { !$0.hasPrefix("--") && Int($0) == nil }
    guard !files.isEmpty else {
        print("nada-bench load: give one or more checkpoint files")
        exit(2)
    }
    print("file                                       tensors      MB   best_s  median_s")
    for path in files {
        var times = [Double]()
        var tensors = 0, bytes = 0
        for _ in 0..<max(1, repeats) {
            let start = Date()
            do {
                let file = try loadFile(path)
                let all = file.tensors
                tensors = all.count
                bytes = all.reduce(0) { $0 + $1.array.bytes.count }
            } catch {
                print("nada-bench load: \(error)")
                exit(1)
            }
            times.append(Date().timeIntervalSince(start))
        }
        times.sort()
        let name = (path as NSString).lastPathComponent
        print(name.padding(toLength: 42, withPad: " ", startingAt: 0)
            + String(format: " %7d %7.1f %8.3f %9.3f", tensors, Double(bytes) / 1_048_576, times[0], times[times.count / 2]))
    }
}
