import Foundation
import Engine
import Formats
import Models

/// `nada-bench encoders [--threads N] [--repeats R]` (batch 1 and 4, then a batch-1 breakdown)
///
/// e4e (Encoder4Editing) at real size: IR-SE-50 (widths 64/128/256/512, 3+4+14+3 units, SE reduction 16),
/// FPN laterals, 18 GradualStyleBlocks 512→512, 256×256 input, forward only (no recording).
/// The random weights are built as a `Weights` object with the official `encoder.*` key names and go through
/// the real loading code (`StyleEncoder(kind:weights:)`). BatchNorm gets non-trivial running statistics so
/// the inference-mode affine is not an identity. GFLOP/s counts convolution and linear arithmetic
/// (2·MACs); the same count as tools/bench_encoders.py prints for PyTorch.
func runEncoderBench(_ options: BenchOptions) {
    let batches = [1, 4], repeats = options.repeats, threads = options.threads
    Threads.set(threads)

    let weights = e4eRandomWeights(seed: 1)
    let encoder: StyleEncoder
    do { encoder = try StyleEncoder(kind: .e4e, weights: weights.scoped("encoder")) } catch { encoderBenchFail("\(error)") }
    precondition(encoder.styleCount == 18 && encoder.styleDim == 512)

    // sgemm at the shape of the 64×64 style heads' first conv (im2col GEMM 512 × 1024 × 4608) for the ratio.
    var rng = SeededRandom(seed: 3)
    let a = Tensor.randn([512, 4608], using: &rng), b = Tensor.randn([4608, 1024], using: &rng), c = Tensor.zeros([512, 1024])
    let gemmSeconds: Double = timeBest(repeats: repeats) { sgemm(m: 512, n: 1024, k: 4608, a: a.pointer, b: b.pointer, c: c.pointer) }.wall
    let gemmRate = 2.0 * 512 * 1024 * 4608 / gemmSeconds * 1e-9

    print("encoders: e4e IR-SE-50 + FPN + 18 GradualStyleBlocks, random weights, 256x256, forward (no recording), "
        + "\(threads) threads, best of \(repeats)")
    print(String(format: "sgemm 512x1024x4608: %.1f GFLOP/s", gemmRate))
    print("batch   time_s  GFLOP  GFLOP/s  x_sgemm  s/image")
    for batch in batches {
        var rng = SeededRandom(seed: 2)
        let x = Tensor.uniform([batch, 3, 256, 256], in: -1...1, using: &rng)
        let flops = e4eForwardFLOPs(batch: batch)
        var codes: Tensor?
        let seconds: Double = timeBest(repeats: repeats) { codes = encoder(x) }.wall
        guard let codes, codes.shape == [batch, 18, 512], codes.array.allSatisfy({ $0.isFinite }) else {
            encoderBenchFail("e4e forward produced \(codes?.shape ?? []) or non-finite codes")
        }
        print(String(format: "%5d %8.3f %6.1f %8.1f %8.2f %8.3f", batch, seconds, flops * 1e-9, flops / seconds * 1e-9,
                     flops / seconds * 1e-9 / gemmRate, seconds / Double(batch)))
    }
    e4eBreakdown(weights: weights, repeats: repeats)
}

/// IR-SE-50 body as `get_blocks(50)`: (in, depth, units) per stage; the first unit of each stage has stride 2.
private let irse50Stages = [(64, 64, 3), (64, 128, 4), (128, 256, 14), (256, 512, 3)]

/// Convs per e4e style head: heads 0–2 read the 16×16 map, 3–6 the 32×32, 7–17 the 64×64 (log2 side convs).
private func e4eHeadConvs(_ j: Int) -> Int { j < 3 ? 4 : (j < 7 ? 5 : 6) }

/// Random e4e weights under the names `pSp.state_dict()` gives them (`encoder.` prefix, spec §4.6).
/// Convs are He-scaled so activations stay O(1) through 24 residual units; BN statistics are non-trivial.
func e4eRandomWeights(seed: UInt64) -> Weights {
    var rng = SeededRandom(seed: seed)
    var pairs: [(name: String, array: ArrayData)] = []
    func add(_ name: String, _ shape: [Int], _ value: (inout SeededRandom) -> Float) {
        let n = shape.reduce(1, *)
        var v = [Float](repeating: 0, count: n)
        for k in 0..<n { v[k] = value(&rng) }
        pairs.append(("encoder." + name, ArrayData(shape: shape, floats: v)))
    }
    func conv(_ name: String, _ cout: Int, _ cin: Int, _ k: Int, gain: Float = 1) {
        let std = gain * (2 / Float(cin * k * k)).squareRoot()
        add(name, [cout, cin, k, k]) { $0.nextNormal() * std }
    }
    func bn(_ prefix: String, _ c: Int) {
        add("\(prefix).weight", [c]) { 0.5 + $0.nextUniform() }
        add("\(prefix).bias", [c]) { 0.1 * $0.nextNormal() }
        add("\(prefix).running_mean", [c]) { 0.1 * $0.nextNormal() }
        add("\(prefix).running_var", [c]) { 0.5 + $0.nextUniform() }
        var one: Int64 = 1
        let bytes = Data(bytes: &one, count: 8)
        pairs.append(("encoder.\(prefix).num_batches_tracked", try! ArrayData(dtype: .int64, shape: [], bytes: bytes)))
    }
    func prelu(_ name: String, _ c: Int) { add(name, [c]) { 0.25 + 0.05 * $0.nextNormal() } }

    conv("input_layer.0.weight", 64, 3, 3)
    bn("input_layer.1", 64)
    prelu("input_layer.2.weight", 64)
    var unit = 0
    for (inC, depth, count) in irse50Stages {
        for u in 0..<count {
            let cin = u == 0 ? inC : depth
            let p = "body.\(unit)"
            if cin != depth {
                conv("\(p).shortcut_layer.0.weight", depth, cin, 1)
                bn("\(p).shortcut_layer.1", depth)
            }
            bn("\(p).res_layer.0", cin)
            conv("\(p).res_layer.1.weight", depth, cin, 3)
            prelu("\(p).res_layer.2.weight", depth)
            conv("\(p).res_layer.3.weight", depth, depth, 3, gain: 0.5) // small residual branch, as trained nets
            bn("\(p).res_layer.4", depth)
            conv("\(p).res_layer.5.fc1.weight", depth / 16, depth, 1)
            conv("\(p).res_layer.5.fc2.weight", depth, depth / 16, 1)
            unit += 1
        }
    }
    for j in 0..<18 {
        for k in 0..<e4eHeadConvs(j) {
            conv("styles.\(j).convs.\(2 * k).weight", 512, 512, 3)
            add("styles.\(j).convs.\(2 * k).bias", [512]) { 0.01 * $0.nextNormal() }
        }
        add("styles.\(j).linear.weight", [512, 512]) { $0.nextNormal() } // EqualLinear: scaled at run time
        add("styles.\(j).linear.bias", [512]) { _ in 0 }
    }
    conv("latlayer1.weight", 512, 256, 1)
    add("latlayer1.bias", [512]) { 0.01 * $0.nextNormal() }
    conv("latlayer2.weight", 512, 128, 1)
    add("latlayer2.bias", [512]) { 0.01 * $0.nextNormal() }
    return Weights(pairs, source: "random e4e (nada-bench)")
}

/// 2·MACs of every conv and linear in the e4e forward at 256×256 (BN, PReLU, SE pooling, adds not counted;
/// the SE 1×1 convs are counted).
func e4eForwardFLOPs(batch: Int) -> Double {
    var macs = 0.0
    func conv(_ cout: Int, _ cin: Int, _ k: Int, _ outSide: Int) { macs += Double(cout * cin * k * k * outSide * outSide) }
    var side = 256
    conv(64, 3, 3, side)
    for (inC, depth, count) in irse50Stages {
        for u in 0..<count {
            let cin = u == 0 ? inC : depth
            let out = u == 0 ? side / 2 : side
            if cin != depth { conv(depth, cin, 1, out) }
            conv(depth, cin, 3, side)
            conv(depth, depth, 3, out)
            conv(depth / 16, depth, 1, 1)
            conv(depth, depth / 16, 1, 1)
            side = out
        }
    }
    conv(512, 256, 1, 32) // latlayer1 on c2
    conv(512, 128, 1, 64) // latlayer2 on c1
    for j in 0..<18 {
        var s = 16 << (e4eHeadConvs(j) - 4)
        for _ in 0..<e4eHeadConvs(j) { s /= 2; conv(512, 512, 3, s) }
        macs += 512 * 512
    }
    return 2 * macs * Double(batch)
}

/// Times the stages separately at batch 1 (backbone alone, then the full forward; the difference is the
/// FPN and the style heads) to show where the time goes.
private func e4eBreakdown(weights: Weights, repeats: Int) {
    let full = try! StyleEncoder(kind: .e4e, weights: weights.scoped("encoder"))
    // The same trunk with head 0 only (a 16×16 head: the FPN levels are never built).
    let trunkNames = weights.names.filter { !$0.contains(".styles.") }
        + weights.names.filter { $0.contains(".styles.0.") }
    let trunk = try! StyleEncoder(kind: .e4e, weights: Weights(trunkNames.map { ($0, weights.arrays[$0]!) }, source: "trunk").scoped("encoder"))
    var rng = SeededRandom(seed: 2)
    let x = Tensor.uniform([1, 3, 256, 256], in: -1...1, using: &rng)
    let tTrunk: Double = timeBest(repeats: repeats) { _ = trunk(x) }.wall
    let tFull: Double = timeBest(repeats: repeats) { _ = full(x) }.wall
    print(String(format: "breakdown batch 1: backbone+1 head %.3f s, full %.3f s, FPN+17 heads %.3f s", tTrunk, tFull, tFull - tTrunk))
}

private func encoderBenchFail(_ message: String) -> Never {
    print("nada-bench encoders: \(message)")
    exit(2)
}
