import Foundation

/// Wall-clock seconds of the parts of one `NADATrainer.step()`, in the order they run.
/// Filled on every step (a clock read per part); `nada-bench train` reports them.
public struct StepTimings: Sendable, Equatable {
    /// Adaptive layer selection (W+ optimisation against the global loss); 0 with a fixed phase.
    public var select: Double = 0
    /// Z sampling, mapping and the frozen generator's forward (not recorded).
    public var frozen: Double = 0
    /// The trainable generator's forward (recorded for the trained modules).
    public var trainableForward: Double = 0
    /// CLIP preprocessing, encoders and losses, forward and backward, ending at the gradient w.r.t.
    /// the trainable generator's images.
    public var clip: Double = 0
    /// The trainable generator's backward from that image gradient.
    public var generatorBackward: Double = 0
    /// Adam update of every parameter with a gradient.
    public var adam: Double = 0

    public init() {}

    public var total: Double { select + frozen + trainableForward + clip + generatorBackward + adam }
}

/// Laps of a monotonic clock: each call returns the seconds since the previous one.
struct LapClock {
    private var mark = DispatchTime.now().uptimeNanoseconds

    mutating func lap() -> Double {
        let now = DispatchTime.now().uptimeNanoseconds
        defer { mark = now }
        return Double(now - mark) / 1e9
    }
}
