import Engine
import Foundation
import Models
import Training

/// `nada-bench train [--sizes 256,1024] [--selection adaptive|phase|both] [--iterations N] [--threads T]
///  [--selection-chunk N] [--auto-layer-k K] [--clip b32[,b16]] [--vocab bpe_simple_vocab_16e6.txt.gz]`
///
/// One StyleGAN-NADA training iteration at real sizes with random weights: config-f generator pair
/// (frozen + trainable copy), batch 2, CLIP ViT-B/32 at 224 (`--clip b32,b16`: ViT-B/32 and ViT-B/16 with weight
/// 1 each, the README recipe's pair), directional loss only, Adam with the
/// reference's effective hyperparameters. Each iteration is one `NADATrainer.step()`; its parts are the
/// trainer's own `StepTimings`:
///   select   adaptive layer selection (W+ SGD step against the global loss, batch 8, in chunks of
///            `--selection-chunk` samples; default: the trainer's choice by image size), k rows from
///            `--auto-layer-k` (default: the README recipe's 18 at 1024, 14 at 256; k ≥ n_latent chooses every
///            row, so the trainer skips the pass), 0 when off
///   frozen   mapping + frozen generator forward (not recorded)
///   trainF   trainable generator forward (recorded for the chosen modules)
///   clip     CLIP preprocessing + encoder forward+backward for both batches and the directional loss,
///            ending at the gradient w.r.t. the trainable generator's images
///   genB     trainable generator backward from that image gradient
///   adam     Adam update of every parameter with a gradient
/// Prints the median of N timed iterations after one warm-up (which also computes the text direction)
/// and the process's peak RSS (VmHWM, reset before each configuration) and CPU seconds per iteration (cpu_s). Without `--vocab`, prompts are
/// encoded as synthetic token rows of the right lengths (random weights make the words irrelevant) and the
/// directional loss uses a random unit direction. Same iteration in PyTorch: tools/bench_nada_train.py.
func runTrainBench(arguments: [String]) {
    var sizes = [256, 1024], selections = ["adaptive", "phase"], iterations = 3
    var threads = Threads.count
    var vocab: String?
    var selectionChunk: Int?
    var autoLayerK: Int?
    var clipNames = ["b32"]
    var i = 0
    func value(_ name: String) -> String {
        i += 1
        guard i < arguments.count else { trainBenchFail("\(name) needs a value") }
        return arguments[i]
    }
    while i < arguments.count {
        switch arguments[i] {
        case "--sizes":
            let v = value("--sizes")
            sizes = v.split(separator: ",").compactMap { Int($0) }
            guard !sizes.isEmpty else { trainBenchFail("--sizes: '\(v)' is not a list of integers") }
        case "--selection":
            let v = value("--selection")
            switch v {
            case "both": selections = ["adaptive", "phase"]
            case "adaptive", "phase": selections = [v]
            default: trainBenchFail("--selection: '\(v)' (adaptive, phase or both)")
            }
        case "--iterations", "--repeats":
            guard let n = Int(value("--iterations")), n > 0 else { trainBenchFail("--iterations needs a positive integer") }
            iterations = n
        case "--threads":
            guard let n = Int(value("--threads")), n > 0 else { trainBenchFail("--threads needs a positive integer") }
            threads = n
        case "--selection-chunk":
            guard let n = Int(value("--selection-chunk")), n > 0 else { trainBenchFail("--selection-chunk needs a positive integer") }
            selectionChunk = n
        case "--auto-layer-k":
            guard let n = Int(value("--auto-layer-k")), n > 0 else { trainBenchFail("--auto-layer-k needs a positive integer") }
            autoLayerK = n
        case "--clip":
            let v = value("--clip")
            clipNames = v.split(separator: ",").map(String.init)
            guard !clipNames.isEmpty, clipNames.allSatisfy({ $0 == "b32" || $0 == "b16" }) else {
                trainBenchFail("--clip: '\(v)' (a list of b32 and b16)")
            }
        case "--vocab": vocab = value("--vocab")
        case let other: trainBenchFail("unknown argument '\(other)'")
        }
        i += 1
    }
    Threads.set(threads)
    setvbuf(stdout, nil, _IOLBF, 0) // one line per configuration as it finishes, also when redirected to a file
    var tokenizer: CLIPTokenizer?
    if let vocab {
        do { tokenizer = try CLIPTokenizer(bpeData: try Data(contentsOf: URL(fileURLWithPath: vocab)), path: vocab) } catch { trainBenchFail("--vocab \(vocab): \(error)") }
    }
    let clipModels = clipNames.map { name in
        (name: name == "b16" ? "ViT-B/16" : "ViT-B/32", model: CLIPModel.random(config: name == "b16" ? .vitB16 : .vitB32, seed: 1))
    }
    print("train: StyleGAN-NADA iteration, config-f random weights, batch 2, CLIP \(clipModels.map(\.name).joined(separator: " + ")) random weights, directional loss, "
          + "\(threads) threads, median of \(iterations) after 1 warm-up, text: \(tokenizer == nil ? "synthetic tokens + random direction" : "tokenizer")")
    print("size selection      iter_s  select   frozen   trainF    clip    genB    adam  peakMB   cpu_s  trained")
    for size in sizes {
        let config: StyleGAN2Config
        do { config = try configF(size: size) } catch { trainBenchFail("\(error)") }
        for selection in selections {
            let frozen = StyleGAN2Generator(config: config, seed: 1)
            let trainable = frozen.copy()
            let clip: [CLIPFeatureModel] = clipModels.map { c -> CLIPFeatureModel in
                if let tokenizer { return CLIPLossModel(model: c.model, tokenizer: tokenizer, name: c.name) }
                return SyntheticTextCLIP(model: c.model)
            }
            var options = TrainingOptions()
            options.source = "photo"
            options.target = "sketch"
            options.batch = 2
            options.clipWeights = clip.map { _ in 1 }
            if selection == "adaptive" {
                options.autoLayerK = autoLayerK ?? (size >= 1024 ? 18 : 14) // the README recipe: 18 at 1024, 14 at 256
                options.autoLayerIters = 1
                options.autoLayerBatch = 8
            } else {
                options.autoLayerIters = 0
                options.phase = .standard
            }
            let trainer: NADATrainer
            do { trainer = try NADATrainer(frozen: frozen, trainable: trainable, clip: clip, options: options) } catch {
                trainBenchFail("\(size) \(selection): \(error)")
            }
            trainer.selectionChunk = selectionChunk
            if tokenizer == nil {
                var r = SeededRandom(seed: 9)
                for (loss, c) in zip(trainer.losses, clipModels) {
                    let d = Tensor.randn([1, c.model.config.embedDim], using: &r)
                    loss.setImageDirection(d / d.norm())
                }
            }
            resetTrainBenchPeak()
            do {
                _ = try trainer.step() // warm-up: allocator, OpenBLAS buffers, the text direction
                var parts: [[Double]] = []
                var cpu: [Double] = []
                for _ in 0..<iterations {
                    let c0 = processCPUSeconds()
                    let t = try trainer.step().timings
                    cpu.append(processCPUSeconds() - c0)
                    parts.append([t.select, t.frozen, t.trainableForward, t.clip, t.generatorBackward, t.adam])
                }
                let trained = trainer.trainable.parameters.values.filter { $0.requiresGrad }.count
                let med = (0..<parts[0].count).map { k in median(parts.map { $0[k] }) }
                let total = median(parts.map { $0.reduce(0, +) })
                print(String(format: "%4d %-10@ %9.2f %7.2f %8.2f %8.2f %7.2f %7.2f %7.2f %7.0f %7.2f  %d params",
                             size, selection, total, med[0], med[1], med[2], med[3], med[4], med[5], trainBenchPeakMB(),
                             median(cpu), trained))
                print("     all iterations (s): " + parts.map { String(format: "%.2f", $0.reduce(0, +)) }.joined(separator: " "))
            } catch {
                print("nada-bench train: \(size) \(selection): \(error)")
            }
        }
    }
}

/// CLIP with prompts encoded as synthetic token rows (SOT, filler ids, EOT at the prompt's word count + 1,
/// zero padding): with random weights only the lengths matter for timing, so no vocabulary is needed.
final class SyntheticTextCLIP: CLIPFeatureModel {
    let model: CLIPModel
    init(model: CLIPModel) { self.model = model }
    var inputResolution: Int { model.config.imageResolution }
    var logitScaleExp: Float { Foundation.exp(model.logitScale.item) }
    func encodeImage(_ pixels: Tensor) -> Tensor { try! model.encodeImage(pixels) }
    func encodeText(_ texts: [String]) throws -> Tensor {
        let context = model.config.contextLength
        let rows: [[Int32]] = texts.map { text in
            let eot = min(context - 1, text.split(separator: " ").count + 2)
            return (0..<context).map { t in t == 0 ? 49406 : (t < eot ? Int32(1000 + (t * 37 + eot) % 40000) : (t == eot ? 49407 : 0)) }
        }
        return try model.encodeText(tokens: rows)
    }
    func preprocessGenerated(_ images: Tensor) -> Tensor {
        clipPreprocessGenerated(images, resolution: inputResolution, antialias: true)
    }
}

private func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

private func resetTrainBenchPeak() {
    // "5" resets VmHWM (Linux >= 4.0).
    try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
}

private func trainBenchPeakMB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return .nan }
    return kb / 1024
}

private func trainBenchFail(_ message: String) -> Never {
    FileHandle.standardError.write(("nada-bench train: " + message + "\n").data(using: .utf8)!)
    exit(2)
}
