import CBLAS
import Dispatch

/// Thread settings of our loops (OpenBLAS itself is kept single-threaded, see `sgemm`). Results never depend on the thread count:
/// every parallel loop writes disjoint outputs and reductions run in a fixed order per element.
///
/// `count` is configuration, not a kernel switch: the user's `--threads` (or `NADA_THREADS`), set once at
/// start-up by the CLI and the benchmarks, and never consulted to pick a kernel (`ConvPlan` does that). It is
/// process-wide because it describes the machine share the process may use, which every loop, on any
/// thread, must respect alike; tests that change it check that results do not depend on it.
public enum Threads {
    nonisolated(unsafe) public private(set) static var count: Int = defaultCount()

    static func defaultCount() -> Int {
        if let s = getenvString("NADA_THREADS"), let n = Int(s), n > 0 { return n }
        return ProcessInfoLite.activeProcessorCount
    }

    /// Sets the width of our parallel loops (GEMMs included: `sgemm` splits them itself).
    public static func set(_ n: Int) {
        ensureSerialBLAS()
        count = max(1, n)
    }

    /// OpenBLAS runs single-threaded inside our threads; set once, before the first GEMM.
    private static let serialBLAS: Void = openblas_set_num_threads(1)
    @inline(__always) static func ensureSerialBLAS() { _ = serialBLAS }
}

/// Runs `body` over `0..<n` in contiguous chunks on up to `Threads.count` threads.
/// `minChunk` keeps tiny loops on one thread, where dispatch would cost more than it saves.
@inline(__always)
public func parallelFor(_ n: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    guard n > 0 else { return }
    let workers = min(Threads.count, max(1, n / max(1, minChunk)))
    if workers <= 1 { body(0..<n); return }
    let chunk = (n + workers - 1) / workers
    withoutActuallyEscaping(body) { body in
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let lo = w * chunk
            let hi = min(n, lo + chunk)
            if lo < hi { body(lo..<hi) }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func getenvString(_ name: String) -> String? {
    guard let p = getenv(name) else { return nil }
    return String(cString: p)
}

enum ProcessInfoLite {
    static var activeProcessorCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}
