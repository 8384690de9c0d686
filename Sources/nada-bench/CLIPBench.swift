import Engine
import Foundation
import Models

/// EOT positions of StyleGAN-NADA's 79 ImageNet templates formatted with "photo" (`clip.tokenize` of
/// `ZSSGAN/utils/text_templates.py`, as in the reference pack): only the lengths matter for timing.
let clipBenchTemplateEOT = [8, 7, 10, 9, 7, 6, 8, 8, 7, 5, 10, 8, 8, 8, 8, 7, 7, 5, 8, 10, 10, 7, 7, 9, 7, 8, 8, 5, 8, 11, 8, 7,
                            8, 7, 8, 7, 7, 10, 7, 5, 8, 7, 7, 5, 9, 5, 7, 8, 8, 7, 8, 8, 8, 5, 6, 7, 5, 9, 7, 11, 8, 6, 8, 8,
                            8, 5, 6, 7, 8, 10, 6, 8, 7, 6, 5, 7, 8, 8, 7]

/// `nada-bench clip [--model b32|b16|all] [--threads N] [--repeats K] [--full-context]`: CLIP ViT at real sizes with random
/// weights: image batch 2 forward, forward+backward w.r.t. the pixels (weights frozen), and the 79 prompt
/// templates (77-token rows, SOT ... EOT, zero padding). Prints the best of K runs per line; the same
/// lines as `tools/bench_clip.py` prints for PyTorch.
func runCLIPBench(arguments: [String]) {
    var models = ["b32", "b16"], repeats = 3, fullContext = false
    var i = 0
    while i < arguments.count {
        let a = arguments[i], v = i + 1 < arguments.count ? arguments[i + 1] : ""
        switch a {
        case "--model": models = v == "all" ? ["b32", "b16"] : [v]; i += 2
        case "--threads": Threads.set(Int(v) ?? Threads.count); i += 2
        case "--repeats": repeats = max(1, Int(v) ?? repeats); i += 2
        case "--full-context": fullContext = true; i += 1
        default: print("nada-bench clip: unknown argument \(a) (use --model b32|b16|all, --threads N, --repeats K, --full-context)"); return
        }
    }
    print("CLIP benchmark (Swift), threads \(Threads.count), best of \(repeats)")
    for name in models {
        guard let config = name == "b32" ? CLIPConfig.vitB32 : (name == "b16" ? CLIPConfig.vitB16 : nil) else {
            print("nada-bench clip: unknown model \(name) (b32 or b16)"); return
        }
        let label = name == "b32" ? "ViT-B/32" : "ViT-B/16"
        let model = CLIPModel.random(config: config, seed: 1)
        var rng = SeededRandom(seed: 2)
        let r = config.imageResolution
        let pixels = Tensor.randn([2, 3, r, r], using: &rng)
        let tokens: [[Int32]] = clipBenchTemplateEOT.map { eot in
            (0..<config.contextLength).map { t in t == 0 ? 49406 : (t < eot ? Int32(1000 + (t * 37 + eot) % 40000) : (t == eot ? 49407 : 0)) }
        }
        // Best wall time of `repeats` runs after a warm-up, with that run's process CPU time (a loaded
        // machine shows up as wall >> cpu / threads).
        func best(_ body: () throws -> Void) rethrows -> String {
            var b = (wall: Double.infinity, cpu: 0.0)
            for k in 0..<(repeats + 1) {
                let start = DispatchTime.now().uptimeNanoseconds, cpu0 = clipBenchCPUSeconds()
                try body()
                let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                if k > 0 && wall < b.wall { b = (wall, clipBenchCPUSeconds() - cpu0) }
            }
            return String(format: "%.3f s (cpu %.3f s)", b.wall, b.cpu)
        }
        do {
            let fwd = try best { _ = try Autograd.noGrad { try model.encodeImage(pixels) } }
            print("\(label) image batch 2 forward:          \(fwd)")
            let bwd = try best {
                let x = pixels.detached(); x.requiresGrad = true
                let f = try model.encodeImage(x)
                f.sum().backward()
                precondition(x.grad != nil)
            }
            print("\(label) image batch 2 forward+backward: \(bwd)")
            let text = try best { _ = try model.encodeText(tokens: tokens) }
            print("\(label) 79 prompt templates:            \(text)")
            if fullContext { // all 77 positions, as PyTorch computes them (the features are identical)
                let full = try best { _ = try model.encodeText(tokens: tokens, skipPadding: false) }
                print("\(label) 79 prompt templates, full 77:   \(full)")
            }
        } catch {
            print("nada-bench clip: \(error)")
        }
    }
}

/// The `clip` entry for nada-bench's group table: both models with the shared --threads/--repeats.
func runCLIPBenchGroup(_ options: BenchOptions) {
    runCLIPBench(arguments: ["--threads", String(options.threads), "--repeats", String(options.repeats)])
}

func clipBenchCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
