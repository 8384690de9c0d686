/// StyleGAN2's per-pixel noise, per-channel bias and scaled leaky ReLU as one op (rosinality
/// `NoiseInjection` followed by `FusedLeakyReLU`):
///   y[n, c, s] = gain · lrelu_slope(x[n, c, s] + strength · noise[n or 0, s] + bias[c]).
///
/// Done as separate broadcasting ops this writes three full-size tensors forward and, backward, makes
/// three more passes plus strided reductions for the noise strength and the bias. Here the forward is
/// one pass and only the output y is kept: with gain > 0 and slope > 0, y has the sign of the
/// pre-activation, so lrelu' is read from y. The backward is one pass per (sample, channel) plane that
/// writes the input gradient and that plane's two sums (for the bias and the strength); the planes'
/// sums are then combined in a fixed order, so results do not depend on the thread count.

extension Tensor {
    /// gain · leaky_relu(x + bias + strength·noise, slope) for x [N, C, ...] (any trailing axes, or none).
    /// - `bias`: [C].
    /// - `noise`: nil, or one map per sample [N, 1, ...] or shared [1, 1, ...] (the trailing axes of x);
    ///   `noiseStrength` (one element) multiplies it and must be given with it.
    /// The addition order is (x + strength·noise) + bias, as in the reference. `slope` and `gain` must be
    /// positive. Every input may receive a gradient.
    public func fusedLeakyReLU(bias: Tensor, noise: Tensor? = nil, noiseStrength: Tensor? = nil,
                               slope: Float = 0.2, gain: Float = Float(2).squareRoot()) -> Tensor {
        let x = self
        let layout = checkedShape {
            try FusedActivationLayout(input: x.shape, bias: bias.shape, noise: noise?.shape, strength: noiseStrength?.shape,
                                      slope: slope, gain: gain)
        }
        let planes = layout.planes, S = layout.spatial, C = layout.channels
        let out = Tensor.empty(x.shape)
        let px = x.pointer, pb = bias.pointer, po = out.pointer
        let pn = noise?.pointer, strength = noiseStrength?.pointer[0] ?? 0
        let shared = layout.sharedNoise
        let negative = slope * gain
        parallelFor(planes, minChunk: max(1, 32768 / max(1, S))) { range in
            for p in range {
                let src = px + p * S, dst = po + p * S, b = pb[p % C]
                if let pn {
                    let np = pn + (shared ? 0 : (p / C) * S)
                    for i in 0..<S {
                        let v = (src[i] + strength * np[i]) + b
                        dst[i] = v >= 0 ? v * gain : v * negative
                    }
                } else {
                    for i in 0..<S {
                        let v = src[i] + b
                        dst[i] = v >= 0 ? v * gain : v * negative
                    }
                }
            }
        }
        let y = out.detached() // not `out`: a closure holding its own output would be a retain cycle
        let inputs = [x, bias] + (noise.map { [$0, noiseStrength!] } ?? [])
        return out.recorded(inputs) { g in
            fusedLeakyReLUBackward(g, y: y, layout: layout, x: x, bias: bias, noise: noise, strength: noiseStrength,
                                   slope: slope, gain: gain)
        }
    }
}

/// Shapes of a fused activation call, checked once.
struct FusedActivationLayout {
    let batch: Int, channels: Int, spatial: Int
    let sharedNoise: Bool
    var planes: Int { batch * channels }

    init(input: [Int], bias: [Int], noise: [Int]?, strength: [Int]?, slope: Float, gain: Float) throws {
        guard input.count >= 2 else { throw ShapeError("fusedLeakyReLU: input must be [N, C, ...], got \(input)") }
        guard slope > 0, gain > 0 else { throw ShapeError("fusedLeakyReLU: slope \(slope) and gain \(gain) must be positive") }
        batch = input[0]; channels = input[1]
        spatial = input.dropFirst(2).reduce(1, *)
        guard bias == [channels] else { throw ShapeError("fusedLeakyReLU: bias \(bias) for \(channels) channels of \(input)") }
        guard (noise == nil) == (strength == nil) else {
            throw ShapeError("fusedLeakyReLU: noise and noiseStrength go together (noise \(noise.map { "\($0)" } ?? "nil"), strength \(strength.map { "\($0)" } ?? "nil"))")
        }
        if let noise, let strength {
            guard strength.reduce(1, *) == 1 else { throw ShapeError("fusedLeakyReLU: noise strength must have one element, got \(strength)") }
            let trailing = Array(input.dropFirst(2))
            guard noise.count == input.count, noise[1] == 1, Array(noise.dropFirst(2)) == trailing,
                  noise[0] == 1 || noise[0] == batch else {
                throw ShapeError("fusedLeakyReLU: noise \(noise) for input \(input): expected [\(batch) or 1, 1\(trailing.map { ", \($0)" }.joined())]")
            }
            sharedNoise = noise[0] == 1 && batch != 1
        } else {
            sharedNoise = false
        }
    }
}

/// Gradients of `fusedLeakyReLU` for [x, bias] or [x, bias, noise, strength].
private func fusedLeakyReLUBackward(_ g: Tensor, y: Tensor, layout: FusedActivationLayout, x: Tensor, bias: Tensor,
                                    noise: Tensor?, strength: Tensor?, slope: Float, gain: Float) -> [Tensor?] {
    let planes = layout.planes, S = layout.spatial, C = layout.channels, N = layout.batch
    let wantX = x.needsGrad, wantBias = bias.needsGrad
    let wantStrength = strength?.needsGrad ?? false, wantNoise = noise?.needsGrad ?? false
    let negative = slope * gain
    let pg = g.pointer, py = y.pointer
    // The pre-activation gradient: kept only when the input or the noise needs it.
    let gx: Tensor? = (wantX || wantNoise) ? Tensor.empty(y.shape) : nil
    // Per-plane sums of the pre-activation gradient (for the bias) and its dot with the noise.
    var planeSums = [Double](repeating: 0, count: max(1, planes))
    var planeDots = [Double](repeating: 0, count: max(1, planes))
    let shared = layout.sharedNoise
    let pgx = gx?.pointer, pn = wantStrength ? noise?.pointer : nil
    planeSums.withUnsafeMutableBufferPointer { sums in
        planeDots.withUnsafeMutableBufferPointer { dots in
            let sums = sums.baseAddress!, dots = dots.baseAddress!
            parallelFor(planes, minChunk: max(1, 32768 / max(1, S))) { range in
                let scratch = pgx == nil ? UnsafeMutablePointer<Float>.allocate(capacity: max(1, S)) : nil
                defer { scratch?.deallocate() }
                for p in range {
                    let gp = pg + p * S, yp = py + p * S
                    let d = pgx.map { $0 + p * S } ?? scratch!
                    // y > 0 exactly where the pre-activation is (gain and slope are positive); at 0 (and at
                    // -0 from an underflowed negative) the slope's derivative, as PyTorch and the fused kernel.
                    for i in 0..<S { d[i] = gp[i] * (yp[i] > 0 ? gain : negative) }
                    if wantBias { sums[p] = sumInDouble(d, S) }
                    if let pn { dots[p] = dotInDouble(d, pn + (shared ? 0 : (p / C) * S), S) }
                }
            }
        }
    }
    var gBias: Tensor?, gStrength: Tensor?, gNoise: Tensor?
    if wantBias {
        let r = Tensor.empty([C])
        for c in 0..<C {
            var t = 0.0
            for n in 0..<N { t += planeSums[n * C + c] }
            r.pointer[c] = Float(t)
        }
        gBias = r
    }
    if wantStrength, let strength {
        var t = 0.0
        for p in 0..<planes { t += planeDots[p] }
        gStrength = Tensor(shape: strength.shape, repeating: Float(t))
    }
    if wantNoise, let noise, let gx, let strength {
        // d/dnoise[m, s] = strength · Σ over the planes that read it of the pre-activation gradient.
        let r = Tensor.empty(noise.shape)
        let k = strength.pointer[0], pgx = gx.pointer, pr = r.pointer
        let maps = noise.shape[0], planesPerMap = planes / maps
        parallelFor(maps * S, minChunk: 4096) { range in
            for e in range {
                let m = e / S, s = e % S
                var t = 0.0
                for q in 0..<planesPerMap { t += Double(pgx[(m * planesPerMap + q) * S + s]) }
                pr[e] = k * Float(t)
            }
        }
        gNoise = r
    }
    let gInput = wantX ? gx : nil
    return noise == nil ? [gInput, gBias] : [gInput, gBias, gNoise, gStrength]
}

/// Σ p[0..<n] in Double with eight independent partial sums (a fixed order: thread-count independent).
@inline(__always)
func sumInDouble(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
    var a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0, a4 = 0.0, a5 = 0.0, a6 = 0.0, a7 = 0.0
    var i = 0
    while i + 8 <= n {
        a0 += Double(p[i]); a1 += Double(p[i + 1]); a2 += Double(p[i + 2]); a3 += Double(p[i + 3])
        a4 += Double(p[i + 4]); a5 += Double(p[i + 5]); a6 += Double(p[i + 6]); a7 += Double(p[i + 7])
        i += 8
    }
    while i < n { a0 += Double(p[i]); i += 1 }
    return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
}

/// Σ a[i]·b[i] in Double (products of floats are exact in Double), eight partial sums.
@inline(__always)
func dotInDouble(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Double {
    var a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0, a4 = 0.0, a5 = 0.0, a6 = 0.0, a7 = 0.0
    var i = 0
    while i + 8 <= n {
        a0 += Double(a[i]) * Double(b[i]); a1 += Double(a[i + 1]) * Double(b[i + 1])
        a2 += Double(a[i + 2]) * Double(b[i + 2]); a3 += Double(a[i + 3]) * Double(b[i + 3])
        a4 += Double(a[i + 4]) * Double(b[i + 4]); a5 += Double(a[i + 5]) * Double(b[i + 5])
        a6 += Double(a[i + 6]) * Double(b[i + 6]); a7 += Double(a[i + 7]) * Double(b[i + 7])
        i += 8
    }
    while i < n { a0 += Double(a[i]) * Double(b[i]); i += 1 }
    return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
}
