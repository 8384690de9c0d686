/// StyleGAN2's `upfirdn2d` (rosinality `upfirdn2d_native`), computed without building the zero-inserted
/// image: for every output sample we list the input samples that reach it and the kernel tap they meet.
///
/// Along one axis, output o reads padded sample o·down + a (a < k) with kernel tap k−1−a (the kernel is
/// flipped: a true convolution). The padded sample lies at upsampled position m = o·down + a − pad0, which
/// is nonzero only when m ≥ 0, up | m and m/up < size. A negative pad0 is a crop and fits the same formula.
/// The gradient w.r.t. x uses the transposed lists (input sample → outputs it reached), so forward and
/// backward are the same gather. Rank-1 kernels (StyleGAN2's outer([1,3,3,1])) run as two 1-D passes.

/// One axis of an upfirdn: for each output sample, its (input sample, kernel tap) pairs.
final class FIRTaps {
    let outputCount: Int
    let start: UnsafeMutablePointer<Int>   // outputCount + 1 offsets into source/tap
    let source: UnsafeMutablePointer<Int>
    let tap: UnsafeMutablePointer<Int>

    private init(outputCount: Int, lists: [[(Int, Int)]]) {
        self.outputCount = outputCount
        let total = lists.reduce(0) { $0 + $1.count }
        start = .allocate(capacity: outputCount + 1)
        source = .allocate(capacity: max(1, total))
        tap = .allocate(capacity: max(1, total))
        var at = 0
        for (o, list) in lists.enumerated() {
            start[o] = at
            for (s, t) in list { source[at] = s; tap[at] = t; at += 1 }
        }
        start[outputCount] = at
    }

    deinit { start.deallocate(); source.deallocate(); tap.deallocate() }

    /// Output length of one axis: ⌊(size·up + pad0 + pad1 − k) / down⌋ + 1.
    static func outputSize(size: Int, up: Int, down: Int, pad0: Int, pad1: Int, kernel k: Int) -> Int {
        floorDiv(size * up + pad0 + pad1 - k, down) + 1
    }

    static func forward(size: Int, up: Int, down: Int, pad0: Int, pad1: Int, kernel k: Int) -> FIRTaps {
        let n = outputSize(size: size, up: up, down: down, pad0: pad0, pad1: pad1, kernel: k)
        var lists = [[(Int, Int)]](repeating: [], count: max(0, n))
        for o in 0..<max(0, n) {
            for a in 0..<k {
                let m = o * down + a - pad0
                if m >= 0 && m % up == 0 && m / up < size { lists[o].append((m / up, k - 1 - a)) }
            }
        }
        return FIRTaps(outputCount: max(0, n), lists: lists)
    }

    /// The adjoint lists: for each input sample, the (output sample, tap) pairs it contributes to.
    func transposed(inputCount: Int) -> FIRTaps {
        var lists = [[(Int, Int)]](repeating: [], count: inputCount)
        for o in 0..<outputCount {
            for i in start[o]..<start[o + 1] { lists[source[i]].append((o, tap[i])) }
        }
        return FIRTaps(outputCount: inputCount, lists: lists)
    }
}

/// A 2-D FIR kernel, split into ky ⊗ kx when it has rank 1.
struct FIRKernel {
    let kh: Int, kw: Int
    let full: [Float]
    let separable: (ky: [Float], kx: [Float])?

    init(_ kernel: Tensor) {
        precondition(kernel.rank == 2 && kernel.count > 0, "upfirdn2d: kernel must be a non-empty 2-D [kh, kw] tensor, got \(kernel.shape)")
        let kh = kernel.shape[0], kw = kernel.shape[1], full = kernel.array
        self.kh = kh; self.kw = kw; self.full = full
        // Factor through the largest entry; accept when every product matches to float rounding.
        var best = 0
        for i in 0..<full.count where Swift.abs(full[i]) > Swift.abs(full[best]) { best = i }
        let pivot = full[best], ar = best / kw, bc = best % kw
        if pivot == 0 { separable = ([Float](repeating: 0, count: kh), [Float](repeating: 0, count: kw)); return }
        let ky = (0..<kh).map { full[$0 * kw + bc] }
        let kx = (0..<kw).map { full[ar * kw + $0] / pivot }
        let tolerance = 1e-6 * Swift.abs(pivot)
        var ok = true
        for a in 0..<kh { for b in 0..<kw where Swift.abs(ky[a] * kx[b] - full[a * kw + b]) > tolerance { ok = false } }
        separable = ok ? (ky, kx) : nil
    }
}

/// One axis of a rank-1 FIR as a fixed-width gather: out[o] = Σ_{t < width} weight[o·width + t] · in[source[o·width + t]].
/// Outputs with fewer taps are padded with zero-weight taps, so the inner loop has one fixed length.
final class FIRGather {
    let count: Int, width: Int
    let source: UnsafeMutablePointer<Int>
    let weight: UnsafeMutablePointer<Float>
    /// Outputs `dense` all read in[o + denseOffset[t]] with the same weights (the interior of an up = 1,
    /// down = 1 filter): there `gatherRow` runs the taps as contiguous multiply-adds over the whole run,
    /// in the same per-output order as the gather, so the values are identical.
    let dense: Range<Int>
    let denseOffset: [Int]

    init(_ taps: FIRTaps, kernel: [Float]) {
        count = taps.outputCount
        var w = 1
        for o in 0..<count { w = max(w, taps.start[o + 1] - taps.start[o]) }
        width = w
        source = .allocate(capacity: max(1, count * w))
        weight = .allocate(capacity: max(1, count * w))
        for o in 0..<count {
            let lo = taps.start[o], n = taps.start[o + 1] - lo
            for t in 0..<w {
                // Padding taps repeat a real source of this output (weight 0) so they read nothing new.
                source[o * w + t] = n == 0 ? 0 : taps.source[lo + min(t, n - 1)]
                weight[o * w + t] = t < n ? kernel[taps.tap[lo + t]] : 0
            }
        }
        // The longest run of outputs whose taps are those of the previous output shifted by one sample.
        var best = 0..<0, runStart = 0
        let src = source, wt = weight
        for o in 0...count {
            var continues = o > 0 && o < count
            if continues {
                for t in 0..<w where src[o * w + t] - o != src[(o - 1) * w + t] - (o - 1) || wt[o * w + t] != wt[(o - 1) * w + t] {
                    continues = false
                    break
                }
            }
            if !continues {
                if o - runStart > best.count { best = runStart..<o }
                runStart = o
            }
        }
        dense = best.count >= 8 ? best : 0..<0
        let first = best.lowerBound
        denseOffset = best.count >= 8 ? (0..<w).map { src[first * w + $0] - first } : []
    }

    deinit { source.deallocate(); weight.deallocate() }

    /// All outputs of one row.
    @inline(__always)
    func gatherRow(_ input: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let w = width
        @inline(__always) func gather(_ outputs: Range<Int>) {
            for o in outputs {
                var acc: Float = 0
                for t in 0..<w { acc += weight[o * w + t] * input[source[o * w + t]] }
                out[o] = acc
            }
        }
        if dense.isEmpty { gather(0..<count); return }
        gather(0..<dense.lowerBound)
        let lo = dense.lowerBound, n = dense.count, dst = out + lo
        dst.update(repeating: 0, count: n)
        for t in 0..<w {
            let c = weight[lo * w + t], src = input + lo + denseOffset[t]
            for j in 0..<n { dst[j] += c * src[j] }
        }
        gather(dense.upperBound..<count)
    }

    /// Output rows `rows` of a [count, rowLength] plane from the rows of a [inputRows, rowLength] plane.
    @inline(__always)
    func combineRows(_ input: UnsafePointer<Float>, rowLength n: Int, rows: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        let w = width
        for o in rows {
            let dst = out + o * n
            dst.update(repeating: 0, count: n)
            for t in 0..<w {
                let c = weight[o * w + t]
                if c == 0 { continue }
                let src = input + source[o * w + t] * n
                for j in 0..<n { dst[j] += c * src[j] }
            }
        }
    }
}

/// Applies the FIR described by (ty, tx, kernel) to every plane: out [planes, ty.outputCount, tx.outputCount].
/// Every output element is computed by one thread with the same arithmetic whatever the thread count.
func applyFIR2d(_ input: UnsafePointer<Float>, planes: Int, inH: Int, inW: Int,
                ty: FIRTaps, tx: FIRTaps, kernel: FIRKernel, into output: UnsafeMutablePointer<Float>) {
    let outH = ty.outputCount, outW = tx.outputCount
    if let (ky, kx) = kernel.separable {
        // Two 1-D passes: rows of each input plane → [inH, outW], then columns → [outH, outW].
        let gy = FIRGather(ty, kernel: ky), gx = FIRGather(tx, kernel: kx)
        let planeWork = (inH + outH) * outW * max(gx.width, gy.width)
        if planes >= 2 * Threads.count || planeWork < 1 << 16 {
            parallelFor(planes, minChunk: max(1, (1 << 16) / max(1, planeWork))) { range in
                let rowsBuf = UnsafeMutablePointer<Float>.allocate(capacity: max(1, inH * outW))
                defer { rowsBuf.deallocate() }
                for p in range {
                    let src = input + p * inH * inW
                    for y in 0..<inH { gx.gatherRow(src + y * inW, into: rowsBuf + y * outW) }
                    gy.combineRows(rowsBuf, rowLength: outW, rows: 0..<outH, into: output + p * outH * outW)
                }
            }
        } else {
            // Few large planes (e.g. 3-channel ToRGB images): split each plane's rows across threads.
            let rowsBuf = UnsafeMutablePointer<Float>.allocate(capacity: max(1, inH * outW))
            defer { rowsBuf.deallocate() }
            for p in 0..<planes {
                let src = input + p * inH * inW
                parallelFor(inH, minChunk: max(1, (1 << 14) / max(1, outW))) { r in
                    for y in r { gx.gatherRow(src + y * inW, into: rowsBuf + y * outW) }
                }
                parallelFor(outH, minChunk: max(1, (1 << 14) / max(1, outW))) { r in
                    gy.combineRows(rowsBuf, rowLength: outW, rows: r, into: output + p * outH * outW)
                }
            }
        }
    } else {
        kernel.full.withUnsafeBufferPointer { k in
            let k = k.baseAddress!, kw = kernel.kw
            parallelFor(planes * outH, minChunk: max(1, (1 << 14) / max(1, outW * kernel.kh * kw))) { range in
                for pi in range {
                    let p = pi / outH, i = pi % outH
                    let src = input + p * inH * inW, dst = output + pi * outW
                    for j in 0..<outW {
                        var acc: Float = 0
                        for e in ty.start[i]..<ty.start[i + 1] {
                            let row = src + ty.source[e] * inW, krow = k + ty.tap[e] * kw
                            for f in tx.start[j]..<tx.start[j + 1] { acc += krow[tx.tap[f]] * row[tx.source[f]] }
                        }
                        dst[j] = acc
                    }
                }
            }
        }
    }
}

extension Tensor {
    /// StyleGAN2's `upfirdn2d` (rosinality `upfirdn2d_native`): zero-insert upsample by `up`, pad
    /// (negative pads crop), convolve every channel with the 2-D FIR `kernel` [kh, kw] (true convolution:
    /// the kernel is flipped, as the native code does), then keep every `down`-th pixel.
    /// `pad` is (x0, x1, y0, y1). The kernel is a constant (no gradient); x gets one.
    public func upfirdn2d(kernel: Tensor, up: Int = 1, down: Int = 1, pad: (x0: Int, x1: Int, y0: Int, y1: Int)) -> Tensor {
        let x = self
        let outShape = checkedShape { try ConvShapes.upfirdn2d(input: x.shape, kernel: kernel.shape, up: up, down: down, pad: pad) }
        let fir = FIRKernel(kernel)
        let N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
        let ty = FIRTaps.forward(size: H, up: up, down: down, pad0: pad.y0, pad1: pad.y1, kernel: fir.kh)
        let tx = FIRTaps.forward(size: W, up: up, down: down, pad0: pad.x0, pad1: pad.x1, kernel: fir.kw)
        let out = Tensor.empty(outShape)
        applyFIR2d(x.pointer, planes: N * C, inH: H, inW: W, ty: ty, tx: tx, kernel: fir, into: out.pointer)
        return out.recorded([x]) { g in
            let gx = Tensor.empty(x.shape)
            applyFIR2d(g.pointer, planes: N * C, inH: ty.outputCount, inW: tx.outputCount,
                       ty: ty.transposed(inputCount: H), tx: tx.transposed(inputCount: W), kernel: fir, into: gx.pointer)
            return [gx]
        }
    }
}
