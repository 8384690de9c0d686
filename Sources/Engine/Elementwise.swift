import Foundation
import CKernels

/// Elementwise arithmetic with NumPy broadcasting, and unary maps. Each op's backward sits beside it.

// MARK: - Kernels

/// The four arithmetic ops as types, so `mapBinary(_:_:_:)` is specialised per op and its loops
/// inline the arithmetic (a closure passed through `parallelFor` costs an indirect call per element).
protocol FloatBinaryOp { static func apply(_ a: Float, _ b: Float) -> Float }
enum AddOp: FloatBinaryOp { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a + b } }
enum SubOp: FloatBinaryOp { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a - b } }
enum MulOp: FloatBinaryOp { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a * b } }
enum DivOp: FloatBinaryOp { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a / b } }

/// `Op` over the broadcast of `a` and `b`. Rows of the innermost axis are read contiguously or as one
/// repeated value, so the inner loops have no index arithmetic.
func mapBinary<Op: FloatBinaryOp>(_ a: Tensor, _ b: Tensor, _: Op.Type, op: String) -> Tensor {
    guard let shape = broadcastShapes(a.shape, b.shape) else {
        preconditionFailure("\(op): shapes \(a.shape) and \(b.shape) do not broadcast")
    }
    let out = Tensor.empty(shape)
    let n = out.count
    let pa = a.pointer, pb = b.pointer, po = out.pointer
    if a.count == n && b.count == n {
        parallelFor(n, minChunk: 1 << 14) { r in for i in r { po[i] = Op.apply(pa[i], pb[i]) } }
    } else if b.count == 1 {
        let s = pb[0]
        parallelFor(n, minChunk: 1 << 14) { r in for i in r { po[i] = Op.apply(pa[i], s) } }
    } else if a.count == 1 {
        let s = pa[0]
        parallelFor(n, minChunk: 1 << 14) { r in for i in r { po[i] = Op.apply(s, pb[i]) } }
    } else if n > 0 {
        let sa = broadcastStrides(a.shape, to: shape), sb = broadcastStrides(b.shape, to: shape)
        let rank = shape.count
        let inner = shape[rank - 1], ia = sa[rank - 1], ib = sb[rank - 1]
        let rows = n / inner
        parallelFor(rows, minChunk: max(1, (1 << 14) / max(inner, 1))) { r in
            for row in r {
                var rem = row, oa = 0, ob = 0
                for axis in stride(from: rank - 2, through: 0, by: -1) {
                    let c = rem % shape[axis]; rem /= shape[axis]
                    oa += c * sa[axis]; ob += c * sb[axis]
                }
                let x = pa + oa, y = pb + ob, dst = po + row * inner
                // Broadcast strides are 0 or the contiguous stride (1 on the innermost axis).
                switch (ia, ib) {
                case (0, 0): let v = Op.apply(x[0], y[0]); dst.update(repeating: v, count: inner)
                case (0, _): let v = x[0]; for j in 0..<inner { dst[j] = Op.apply(v, y[j]) }
                case (_, 0): let v = y[0]; for j in 0..<inner { dst[j] = Op.apply(x[j], v) }
                default: for j in 0..<inner { dst[j] = Op.apply(x[j], y[j]) }
                }
            }
        }
    }
    return out
}

@inline(__always)
func mapUnary(_ x: Tensor, _ f: @escaping (Float) -> Float) -> Tensor {
    let out = Tensor.empty(x.shape)
    let px = x.pointer, po = out.pointer
    parallelFor(x.count, minChunk: 1 << 14) { r in for i in r { po[i] = f(px[i]) } }
    return out
}

/// `g` summed down to `shape` over the axes broadcasting expanded (the backward of broadcasting).
public func sumToShape(_ g: Tensor, _ shape: [Int]) -> Tensor {
    if g.shape == shape { return g }
    let offset = g.rank - shape.count
    precondition(offset >= 0, "internal: cannot reduce \(g.shape) to \(shape)")
    var axes: [Int] = Array(0..<offset)
    for (i, d) in shape.enumerated() where d == 1 && g.shape[i + offset] != 1 { axes.append(i + offset) }
    return reduceSum(g, axes: axes).reshapedRaw(shape)
}

// MARK: - Binary ops

extension Tensor {
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        mapBinary(a, b, AddOp.self, op: "add").recorded([a, b]) { g in
            [a.needsGrad ? sumToShape(g, a.shape) : nil, b.needsGrad ? sumToShape(g, b.shape) : nil]
        }
    }

    public static func - (a: Tensor, b: Tensor) -> Tensor {
        mapBinary(a, b, SubOp.self, op: "sub").recorded([a, b]) { g in
            [a.needsGrad ? sumToShape(g, a.shape) : nil, b.needsGrad ? sumToShape(mapUnary(g, -), b.shape) : nil]
        }
    }

    public static func * (a: Tensor, b: Tensor) -> Tensor {
        mapBinary(a, b, MulOp.self, op: "mul").recorded([a, b]) { g in
            [a.needsGrad ? sumToShape(mapBinary(g, b, MulOp.self, op: "mul"), a.shape) : nil,
             b.needsGrad ? sumToShape(mapBinary(g, a, MulOp.self, op: "mul"), b.shape) : nil]
        }
    }

    public static func / (a: Tensor, b: Tensor) -> Tensor {
        let out = mapBinary(a, b, DivOp.self, op: "div")
        let y = out.detached() // the closure must not hold `out` itself: that would be a retain cycle
        return out.recorded([a, b]) { g in
            let ga = a.needsGrad ? sumToShape(mapBinary(g, b, DivOp.self, op: "div"), a.shape) : nil
            // d(a/b)/db = -(a/b)/b
            let gb = b.needsGrad ? sumToShape(mapBinary(mapBinary(mapUnary(g, -), y, MulOp.self, op: "mul"), b, DivOp.self, op: "div"), b.shape) : nil
            return [ga, gb]
        }
    }

    public static func + (a: Tensor, s: Float) -> Tensor {
        mapUnary(a) { $0 + s }.recorded([a]) { g in [g] }
    }
    public static func - (a: Tensor, s: Float) -> Tensor { a + (-s) }
    public static func + (s: Float, a: Tensor) -> Tensor { a + s }
    public static func - (s: Float, a: Tensor) -> Tensor { (-a) + s }

    public static func * (a: Tensor, s: Float) -> Tensor {
        mapUnary(a) { $0 * s }.recorded([a]) { g in [mapUnary(g) { $0 * s }] }
    }
    public static func * (s: Float, a: Tensor) -> Tensor { a * s }
    public static func / (a: Tensor, s: Float) -> Tensor { a * (1 / s) }

    public static prefix func - (a: Tensor) -> Tensor {
        mapUnary(a, -).recorded([a]) { g in [mapUnary(g, -)] }
    }
}

// MARK: - Unary ops

extension Tensor {
    /// A unary op whose derivative is expressed with the input `x` and output `y`.
    @inline(__always)
    func unary(_ f: @escaping (Float) -> Float, derivative: @escaping (_ x: Float, _ y: Float) -> Float) -> Tensor {
        let x = self
        let out = mapUnary(x, f)
        let y = out.detached() // not `out`: a closure holding its own output would be a retain cycle
        return out.recorded([x]) { g in
            let r = Tensor.empty(x.shape)
            let px = x.pointer, py = y.pointer, pg = g.pointer, pr = r.pointer
            parallelFor(x.count, minChunk: 1 << 14) { range in
                for i in range { pr[i] = pg[i] * derivative(px[i], py[i]) }
            }
            return [r]
        }
    }

    public func exp() -> Tensor { unary(Foundation.exp) { _, y in y } }
    public func log() -> Tensor { unary(Foundation.log) { x, _ in 1 / x } }
    public func sqrt() -> Tensor { unary(Foundation.sqrt) { _, y in 0.5 / y } }
    public func rsqrt() -> Tensor { unary({ 1 / Foundation.sqrt($0) }) { _, y in -0.5 * y * y * y } }
    public func square() -> Tensor { unary({ $0 * $0 }) { x, _ in 2 * x } }
    public func abs() -> Tensor { unary(Swift.abs) { x, _ in x > 0 ? 1 : (x < 0 ? -1 : 0) } }
    public func pow(_ p: Float) -> Tensor { unary({ Foundation.pow($0, p) }) { x, _ in p * Foundation.pow(x, p - 1) } }
    public func sigmoid() -> Tensor { unary({ 1 / (1 + Foundation.exp(-$0)) }) { _, y in y * (1 - y) } }
    /// sin, for StyleGAN3's Fourier-feature input.
    public func sin() -> Tensor { unary(Foundation.sin) { x, _ in Foundation.cos(x) } }
    public func tanh() -> Tensor { unary(Foundation.tanh) { _, y in 1 - y * y } }
    public func relu() -> Tensor { unary({ max($0, 0) }) { x, _ in x > 0 ? 1 : 0 } }

    /// CLIP's QuickGELU: x·σ(1.702x). Forward and backward run in the C kernels' vectorised exp
    /// (`nada_quick_gelu`): through libm's expf, one closure call per element, it was ~12 % of a ViT-B/16
    /// forward+backward.
    public func quickGELU() -> Tensor {
        let x = self
        let out = Tensor.empty(x.shape)
        let px = x.pointer, po = out.pointer, avx2 = ConvPlan.machine.avx2Flag
        parallelFor(x.count, minChunk: 1 << 14) { r in nada_quick_gelu(px + r.lowerBound, po + r.lowerBound, r.count, avx2) }
        return out.recorded([x]) { g in
            let gx = Tensor.empty(x.shape)
            let px = x.pointer, pg = g.pointer, pr = gx.pointer
            parallelFor(x.count, minChunk: 1 << 14) { r in
                nada_quick_gelu_backward(px + r.lowerBound, pg + r.lowerBound, pr + r.lowerBound, r.count, avx2)
            }
            return [gx]
        }
    }

    /// Leaky ReLU scaled by `gain` (StyleGAN2's fused_leaky_relu uses slope 0.2, gain √2). At 0 the derivative
    /// is the slope's, as PyTorch's leaky_relu backward (`self > 0`) and StyleGAN2's fused kernel (`ref > 0`) take it.
    public func leakyReLU(slope: Float = 0.2, gain: Float = 1) -> Tensor {
        unary({ ($0 >= 0 ? $0 : $0 * slope) * gain }) { x, _ in (x > 0 ? 1 : slope) * gain }
    }

    /// Values clamped to [lo, hi]; the gradient is zero where clamping bit.
    public func clamped(_ lo: Float, _ hi: Float) -> Tensor {
        unary({ Swift.min(Swift.max($0, lo), hi) }) { x, _ in (x >= lo && x <= hi) ? 1 : 0 }
    }

    /// arccos of the input clamped to [-1+eps, 1-eps], so the gradient stays finite.
    public func acos(eps: Float = 1e-7) -> Tensor {
        unary({ Foundation.acos(Swift.min(Swift.max($0, -1 + eps), 1 - eps)) }) { x, _ in
            (x > -1 + eps && x < 1 - eps) ? -1 / Foundation.sqrt(1 - x * x) : 0
        }
    }
}
