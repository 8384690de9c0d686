import Foundation
import Engine

/// Options shared by every benchmark group.
struct BenchOptions {
    var threads = Threads.count
    var repeats = 3

    init(parsing args: [String]) throws {
        var i = 0
        func value(_ flag: String) throws -> Int {
            guard i + 1 < args.count, let v = Int(args[i + 1]), v > 0 else { throw BenchError("\(flag) needs a positive integer") }
            i += 1
            return v
        }
        while i < args.count {
            switch args[i] {
            case "--threads": threads = try value("--threads")
            case "--repeats": repeats = try value("--repeats")
            default: throw BenchError("unknown option \(args[i])")
            }
            i += 1
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Runs `body` once to warm up, then `repeats` times; returns the fastest time in seconds
/// (the least disturbed by other processes on a shared machine).
func timeBest(repeats: Int, _ body: () -> Void) -> Double {
    body()
    var best = Double.infinity
    for _ in 0..<repeats {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        let t1 = DispatchTime.now().uptimeNanoseconds
        best = min(best, Double(t1 - t0) * 1e-9)
    }
    return best
}

/// One result line, the same layout as tools/bench_kernels.py prints:
/// name, time in ms, GFLOP/s, and the ratio to the sgemm rate.
func report(_ name: String, seconds: Double, flops: Double, sgemmRate: Double?) {
    let rate = flops / seconds * 1e-9
    let ratio = sgemmRate.map { String(format: "%6.2f", rate / $0) } ?? "     -"
    print(String(format: "%@ %10.2f ms %9.1f GFLOP/s %@ x sgemm",
                 name.padding(toLength: 44, withPad: " ", startingAt: 0), seconds * 1e3, rate, ratio))
}
