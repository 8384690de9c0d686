/// Finite-difference gradient checking, shared by every test target.
///
/// For a scalar function f of some tensors, compares autograd's gradient with central differences
/// (f(x+h) - f(x-h)) / 2h evaluated in float32 but accumulated in Double, element by element.

public struct GradientCheckResult: CustomStringConvertible {
    /// Largest |analytic - numeric| / max(1, |numeric|) over all checked elements.
    public let maxError: Double
    public let worst: String
    public var description: String { "max error \(maxError) at \(worst)" }
}

public enum GradientCheck {
    /// `f` must build its result from `inputs` with recording on; it is called many times.
    /// `step` is the finite-difference h. Only up to `maxElements` elements per input are probed
    /// (spread evenly) so large tensors stay cheap.
    public static func check(_ inputs: [Tensor], step: Float = 1e-2, maxElements: Int = 64,
                             _ f: () -> Tensor) -> GradientCheckResult {
        for t in inputs { t.requiresGrad = true; t.grad = nil }
        let out = f()
        precondition(out.count == 1, "gradient check: function must return a scalar, got \(out.shape)")
        out.backward()
        let analytic = inputs.map { $0.grad?.array ?? [Float](repeating: 0, count: $0.count) }
        var maxError = 0.0, worst = "-"
        Autograd.noGrad {
            for (ti, t) in inputs.enumerated() {
                let n = t.count
                let probes = n <= maxElements ? Array(0..<n) : (0..<maxElements).map { $0 * n / maxElements }
                for i in probes {
                    let saved = t.pointer[i]
                    t.pointer[i] = saved + step
                    let plus = Double(f().item)
                    t.pointer[i] = saved - step
                    let minus = Double(f().item)
                    t.pointer[i] = saved
                    let numeric = (plus - minus) / (2 * Double(step))
                    let err = Swift.abs(Double(analytic[ti][i]) - numeric) / max(1, Swift.abs(numeric))
                    if err > maxError { maxError = err; worst = "input \(ti) element \(i): analytic \(analytic[ti][i]) numeric \(numeric)" }
                }
            }
        }
        for t in inputs { t.grad = nil }
        return GradientCheckResult(maxError: maxError, worst: worst)
    }
}
