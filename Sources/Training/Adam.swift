import Engine
import Foundation

/// Adam as PyTorch's single-tensor CPU path computes it, one state per parameter.
///
/// StyleGAN-NADA builds it with the lazy-regularisation ratio r = g_reg_every / (g_reg_every + 1) = 0.8
/// folded in: lr·r and betas (β1^r, β2^r) = (0, 0.99^0.8). A parameter without a gradient in a step is
/// skipped entirely (its step count does not advance), as PyTorch does for `grad is None`.
public final class Adam {
    public struct Hyperparameters: Codable, Equatable, Sendable {
        public var lr: Double
        public var beta1: Double
        public var beta2: Double
        public var eps: Double

        public init(lr: Double, beta1: Double, beta2: Double, eps: Double = 1e-8) {
            self.lr = lr; self.beta1 = beta1; self.beta2 = beta2; self.eps = eps
        }

        /// The effective values `train.py` passes: lr·r, (β1^r, β2^r) with r = gRegEvery/(gRegEvery+1).
        public static func stylegan(lr: Double = 0.002, betas: (Double, Double) = (0, 0.99), gRegEvery: Int = 4) -> Hyperparameters {
            let r = Double(gRegEvery) / Double(gRegEvery + 1)
            return Hyperparameters(lr: lr * r, beta1: Foundation.pow(betas.0, r), beta2: Foundation.pow(betas.1, r))
        }
    }

    /// Per-parameter moments and step count (saved with checkpoints for bit-exact resumption).
    public struct State {
        public var step: Int
        public var m: [Float]
        public var v: [Float]
        public init(step: Int, m: [Float], v: [Float]) { self.step = step; self.m = m; self.v = v }
    }

    public let hyper: Hyperparameters
    public private(set) var states: [String: State] = [:]

    public init(_ hyper: Hyperparameters) { self.hyper = hyper }

    /// Restores saved state (resume).
    public func restore(_ states: [String: State]) { self.states = states }

    /// One update of every named parameter that has a gradient.
    public func step(_ parameters: [(name: String, tensor: Tensor)]) {
        for (name, p) in parameters {
            guard let g = p.grad else { continue }
            precondition(g.shape == p.shape, "Adam: gradient shape \(g.shape) for parameter \(name) \(p.shape)")
            // Taken out of the dictionary so the arrays below are updated in place, not copied.
            var s = states.removeValue(forKey: name) ?? State(step: 0, m: [Float](repeating: 0, count: p.count), v: [Float](repeating: 0, count: p.count))
            s.step += 1
            let bc1 = 1 - Foundation.pow(hyper.beta1, Double(s.step))
            let bc2Sqrt = (1 - Foundation.pow(hyper.beta2, Double(s.step))).squareRoot()
            let stepSize = Float(hyper.lr / bc1)
            let b1 = Float(hyper.beta1), b2 = Float(hyper.beta2), eps = Float(hyper.eps)
            let c2 = Float(bc2Sqrt)
            let pp = p.pointer, pg = g.pointer
            s.m.withUnsafeMutableBufferPointer { m in
                s.v.withUnsafeMutableBufferPointer { v in
                    for i in 0..<p.count {
                        let gi = pg[i]
                        // torch: exp_avg.lerp_(grad, 1-β1) — exact `grad` when β1 = 0.
                        m[i] = b1 == 0 ? gi : m[i] + (1 - b1) * (gi - m[i])
                        v[i] = v[i] * b2 + (1 - b2) * gi * gi
                        let denom = v[i].squareRoot() / c2 + eps
                        pp[i] = pp[i] + (-stepSize * m[i]) / denom
                    }
                }
            }
            states[name] = s
        }
    }
}
