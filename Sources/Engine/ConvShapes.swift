/// Shape rules of the convolution-family ops, as throwing checks.
///
/// The ops themselves trap on bad shapes (models are built against fixed checkpoints), with these
/// messages; loaders and tests can call the checks first to get a `ShapeError` instead.
public enum ConvShapes {
    /// Output shape of `conv2d`: [N, O, (H + 2p − kh)/s + 1, (W + 2p − kw)/s + 1].
    public static func conv2d(input: [Int], weight: [Int], bias: [Int]? = nil, stride: Int = 1, padding: Int = 0,
                              groups: Int = 1) throws -> [Int] {
        try common("conv2d", input: input, weight: weight, stride: stride, padding: padding, groups: groups)
        let C = input[1], O = weight[0]
        guard C % groups == 0, O % groups == 0, weight[1] == C / groups else {
            throw ShapeError("conv2d: input \(input) and weight \(weight) (expected [O, C/groups, kh, kw]) do not fit groups = \(groups)")
        }
        if let bias, bias != [O] { throw ShapeError("conv2d: bias \(bias) for \(O) output channels") }
        let Ho = floorDiv(input[2] + 2 * padding - weight[2], stride) + 1
        let Wo = floorDiv(input[3] + 2 * padding - weight[3], stride) + 1
        guard Ho >= 1, Wo >= 1 else {
            throw ShapeError("conv2d: kernel \(weight[2])x\(weight[3]) does not fit input \(input[2])x\(input[3]) with padding \(padding)")
        }
        return [input[0], O, Ho, Wo]
    }

    /// Output shape of `convTranspose2d`: [N, O, (H − 1)·s − 2p + kh, (W − 1)·s − 2p + kw].
    public static func convTranspose2d(input: [Int], weight: [Int], bias: [Int]? = nil, stride: Int = 1, padding: Int = 0,
                                       groups: Int = 1) throws -> [Int] {
        try common("convTranspose2d", input: input, weight: weight, stride: stride, padding: padding, groups: groups)
        let C = input[1]
        guard C % groups == 0, weight[0] == C else {
            throw ShapeError("convTranspose2d: input \(input) and weight \(weight) (expected [C, O/groups, kh, kw]) do not fit groups = \(groups)")
        }
        let O = weight[1] * groups
        if let bias, bias != [O] { throw ShapeError("convTranspose2d: bias \(bias) for \(O) output channels") }
        let Ho = (input[2] - 1) * stride - 2 * padding + weight[2], Wo = (input[3] - 1) * stride - 2 * padding + weight[3]
        guard Ho >= 1, Wo >= 1 else {
            throw ShapeError("convTranspose2d: padding \(padding) leaves no output for input \(input[2])x\(input[3]), kernel \(weight[2])x\(weight[3])")
        }
        return [input[0], O, Ho, Wo]
    }

    /// Output shape of `upfirdn2d`: per axis ⌊(size·up + pad0 + pad1 − k) / down⌋ + 1.
    public static func upfirdn2d(input: [Int], kernel: [Int], up: Int, down: Int,
                                 pad: (x0: Int, x1: Int, y0: Int, y1: Int)) throws -> [Int] {
        guard input.count == 4 else { throw ShapeError("upfirdn2d: input must be [N, C, H, W], got \(input)") }
        guard kernel.count == 2, kernel[0] >= 1, kernel[1] >= 1 else {
            throw ShapeError("upfirdn2d: kernel must be a non-empty 2-D [kh, kw] tensor, got \(kernel)")
        }
        guard up >= 1, down >= 1 else { throw ShapeError("upfirdn2d: up and down must be >= 1 (got \(up), \(down))") }
        let H = FIRTaps.outputSize(size: input[2], up: up, down: down, pad0: pad.y0, pad1: pad.y1, kernel: kernel[0])
        let W = FIRTaps.outputSize(size: input[3], up: up, down: down, pad0: pad.x0, pad1: pad.x1, kernel: kernel[1])
        guard H >= 1, W >= 1 else {
            throw ShapeError("upfirdn2d: input \(input[2])x\(input[3]) with up \(up), pad \(pad), kernel \(kernel[0])x\(kernel[1]), down \(down) leaves no output")
        }
        return [input[0], input[1], H, W]
    }

    /// Shapes for `addingChannelBias` / `scaledPerChannel`: x [N, C, ...] with bias [C] or scale [N, C].
    public static func channelBias(input: [Int], bias: [Int]) throws {
        guard input.count >= 2 else { throw ShapeError("addingChannelBias: input must be [N, C, ...], got \(input)") }
        guard bias == [input[1]] else { throw ShapeError("addingChannelBias: bias \(bias) for \(input[1]) channels of \(input)") }
    }

    public static func channelScale(input: [Int], scale: [Int]) throws {
        guard input.count >= 2 else { throw ShapeError("scaledPerChannel: input must be [N, C, ...], got \(input)") }
        guard scale == [input[0], input[1]] else {
            throw ShapeError("scaledPerChannel: scale \(scale) for input \(input), expected [\(input[0]), \(input[1])]")
        }
    }

    private static func common(_ op: String, input: [Int], weight: [Int], stride: Int, padding: Int, groups: Int) throws {
        guard input.count == 4 else { throw ShapeError("\(op): input must be [N, C, H, W], got \(input)") }
        guard weight.count == 4 else { throw ShapeError("\(op): weight must be 4-D, got \(weight)") }
        guard groups >= 1, stride >= 1, padding >= 0 else {
            throw ShapeError("\(op): need groups >= 1, stride >= 1, padding >= 0 (got \(groups), \(stride), \(padding))")
        }
    }
}

/// Runs a shape check inside an op, trapping with its message (the op signatures do not throw).
@inline(__always)
func checkedShape<T>(_ body: () throws -> T) -> T {
    do { return try body() } catch { preconditionFailure("\(error)") }
}
