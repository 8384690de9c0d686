import Foundation
import Engine

/// Options shared by every benchmark group.
struct BenchOptions {
    var threads = Threads.count
    var repeats = 3
    var precision = Precision.fp32

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
            case "--precision":
                guard i + 1 < args.count, let p = Precision(rawValue: args[i + 1]) else { throw BenchError("--precision needs fp32 or bf16") }
                precision = p
                i += 1
            // Other flags belong to the group (stylegan2, clip, train read their own from the command line).
            default: break
            }
            i += 1
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// A timing: wall-clock seconds, and the CPU seconds the whole process used meanwhile (all threads).
/// On a shared, oversubscribed machine the CPU time shows the work done better than the wall time.
struct Timing {
    var wall: Double
    var cpu: Double
    static func - (a: Timing, b: Timing) -> Timing { Timing(wall: a.wall - b.wall, cpu: a.cpu - b.cpu) }
}

func processCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Runs `body` once to warm up, then `repeats` times; returns the run with the least wall time
/// (the least disturbed by other processes).
func timeBest(repeats: Int, _ body: () -> Void) -> Timing {
    body()
    var best = Timing(wall: .infinity, cpu: .infinity)
    for _ in 0..<repeats {
        let c0 = processCPUSeconds(), t0 = DispatchTime.now().uptimeNanoseconds
        body()
        let t1 = DispatchTime.now().uptimeNanoseconds, c1 = processCPUSeconds()
        let wall = Double(t1 - t0) * 1e-9
        if wall < best.wall { best = Timing(wall: wall, cpu: c1 - c0) }
    }
    return best
}

/// Work rates of a timed kernel: GFLOP per wall second and per CPU second.
struct Rates {
    var wall: Double, cpu: Double
    init(_ t: Timing, flops: Double) { wall = flops / t.wall * 1e-9; cpu = flops / t.cpu * 1e-9 }
}

/// One result line, the same layout as tools/bench_kernels.py prints: name, wall time, GFLOP/s and its
/// ratio to the sgemm rate, then CPU time, GFLOP per CPU-second and its ratio to sgemm's.
@discardableResult
func report(_ name: String, _ t: Timing, flops: Double, sgemm: Rates?) -> Rates {
    let r = Rates(t, flops: flops), base = sgemm ?? r
    print(String(format: "%@ %9.1f ms %7.1f GFLOP/s %6.2f x sgemm | cpu %9.1f ms %7.1f GFLOP/cpu-s %6.2f x sgemm",
                 name.padding(toLength: 46, withPad: " ", startingAt: 0), t.wall * 1e3, r.wall, r.wall / base.wall,
                 t.cpu * 1e3, r.cpu, r.cpu / base.cpu))
    return r
}
