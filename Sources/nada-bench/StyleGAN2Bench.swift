import Foundation
import Engine
import Models

/// `nada-bench stylegan2 [--sizes 256,1024] [--batches 1,2] [--threads N] [--repeats R] [--form activations|grouped|automatic]
///  [--forward-only]`
///
/// Random weights at real sizes (config-f widths, style_dim 512, n_mlp 8), stored noise, W+ input.
/// Prints the best forward time (no recording) and forward+backward time (loss = sum(image·R), gradients
/// for every parameter and the W+ codes), GFLOP/s from the convolution arithmetic, and the peak resident
/// memory of each measurement (VmHWM, reset before it through /proc/self/clear_refs).
func runStyleGAN2Bench(arguments: [String]) {
    var sizes = [256, 1024], batches = [1, 2], repeats = 2
    var threads = Threads.count
    var form = ModulationForm.automatic
    var backward = true
    var i = 0
    func value(_ name: String) -> String {
        i += 1
        guard i < arguments.count else { fail("\(name) needs a value") }
        return arguments[i]
    }
    func ints(_ name: String) -> [Int] {
        let v = value(name)
        let parsed = v.split(separator: ",").compactMap { Int($0) }
        guard !parsed.isEmpty, parsed.count == v.split(separator: ",").count else { fail("\(name): '\(v)' is not a list of integers") }
        return parsed
    }
    while i < arguments.count {
        switch arguments[i] {
        case "--sizes": sizes = ints("--sizes")
        case "--batches": batches = ints("--batches")
        case "--threads": threads = ints("--threads")[0]
        case "--repeats": repeats = max(1, ints("--repeats")[0])
        case "--form":
            switch value("--form") {
            case "activations": form = .activations
            case "grouped": form = .grouped
            case "automatic": form = .automatic
            case let other: fail("--form: unknown form '\(other)' (activations, grouped or automatic)")
            }
        case "--forward-only": backward = false
        case let other: fail("unknown argument '\(other)'")
        }
        i += 1
    }
    Threads.set(threads)
    print("stylegan2: config-f random weights, W+ input, stored noise, \(threads) threads, form \(form), best of \(repeats)")
    // cpu_s: process CPU seconds of the best run (useful when other jobs share the cores).
    print("size batch   fwd_s  fwd_cpu_s  fwd_GFLOP/s  fwd_peakMB   fb_s   fb_cpu_s  fb_GFLOP/s  fb_peakMB")
    for size in sizes {
        let config: StyleGAN2Config
        do { config = try configF(size: size) } catch { fail("\(error)") }
        let g = StyleGAN2Generator(config: config, seed: 1)
        g.modulationForm = form
        let flops = forwardFLOPs(config)
        for batch in batches {
            var rng = SeededRandom(seed: 2)
            let wplus = Tensor.randn([batch, config.nLatent, config.styleDim], using: &rng)
            let r = Tensor.randn([batch, 3, size, size], using: &rng)
            g.setRequiresGrad(false)
            _ = try! Autograd.noGrad { try g.forward(wPlus: wplus) } // warm-up (allocator, OpenBLAS threads)
            resetPeakMemory()
            var fwd = (wall: Double.infinity, cpu: Double.infinity)
            for _ in 0..<repeats {
                let m = time { _ = try! Autograd.noGrad { try g.forward(wPlus: wplus) } }
                if m.wall < fwd.wall { fwd = m }
            }
            let fwdPeak = peakMemoryMB()
            var line = String(format: "%4d %5d %7.3f %10.3f %12.1f %11.0f", size, batch, fwd.wall, fwd.cpu,
                              Double(batch) * flops / fwd.wall / 1e9, fwdPeak)
            if backward {
                g.setRequiresGrad(true)
                wplus.requiresGrad = true
                resetPeakMemory()
                var fb = (wall: Double.infinity, cpu: Double.infinity)
                for _ in 0..<repeats {
                    let m = time {
                        let loss = (try! g.forward(wPlus: wplus) * r).sum()
                        loss.backward()
                    }
                    if m.wall < fb.wall { fb = m }
                    for t in g.parameters.values { t.grad = nil }
                    wplus.grad = nil
                }
                // Backward costs two GEMMs per forward GEMM (input and weight gradients).
                line += String(format: " %7.3f %10.3f %11.1f %10.0f", fb.wall, fb.cpu, 3 * Double(batch) * flops / fb.wall / 1e9, peakMemoryMB())
            }
            print(line)
            fflush(stdout) // one line per measurement even when piped to a file
        }
    }
}

/// Official config-f widths (512 up to 32×32, then 256·cm, 128·cm, ... with cm = 2). Benchmark only:
/// the model itself reads widths from the weights.
func configF(size: Int) throws -> StyleGAN2Config {
    let table: [Int: Int] = [4: 512, 8: 512, 16: 512, 32: 512, 64: 512, 128: 256, 256: 128, 512: 64, 1024: 32]
    let log = size.trailingZeroBitCount
    guard size >= 8, size <= 1024, size & (size - 1) == 0 else { throw ShapeError("config-f sizes are powers of two in 8...1024, got \(size)") }
    return try StyleGAN2Config(size: size, styleDim: 512, nMLP: 8, channels: (2...log).map { table[1 << $0]! })
}

/// Multiply-adds ×2 of one sample's forward: modulated 3×3 convs (the upsampling ones as stride-2
/// transposed convs on the input grid), 1×1 ToRGBs, modulation and mapping linears.
func forwardFLOPs(_ c: StyleGAN2Config) -> Double {
    var macs = 0.0
    let d = Double(c.styleDim)
    macs += Double(c.nMLP) * d * d
    let c4 = Double(c.channels[0])
    macs += c4 * c4 * 9 * 16 + c4 * 3 * 16 + 2 * d * c4
    for k in 0..<(c.logSize - 2) {
        let cin = Double(c.channels[k]), cout = Double(c.channels[k + 1])
        let rIn = Double(4 << k), rOut = 2 * rIn
        macs += cin * cout * 9 * rIn * rIn      // transposed conv, stride 2
        macs += cout * cout * 9 * rOut * rOut   // plain conv
        macs += cout * 3 * rOut * rOut          // ToRGB
        macs += d * (cin + 2 * cout)            // modulations
    }
    return 2 * macs
}

/// Wall-clock and process CPU seconds of `body`.
private func time(_ body: () -> Void) -> (wall: Double, cpu: Double) {
    let start = DispatchTime.now().uptimeNanoseconds, cpu0 = cpuSeconds()
    body()
    return (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, cpuSeconds() - cpu0)
}

private func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return s(usage.ru_utime) + s(usage.ru_stime)
}

private func resetPeakMemory() {
    // "5" resets the peak RSS (VmHWM) of the process (Linux >= 4.0); harmless where unsupported.
    try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
}

private func peakMemoryMB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return .nan }
    return kb / 1024
}

private func fail(_ message: String) -> Never {
    FileHandle.standardError.write(("nada-bench stylegan2: " + message + "\n").data(using: .utf8)!)
    exit(2)
}
