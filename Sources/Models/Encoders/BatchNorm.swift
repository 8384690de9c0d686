import Engine

/// An inference-mode BatchNorm2d read from `<prefix>.{weight,bias,running_mean,running_var}`.
struct BatchNorm2d {
    let weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor

    init(_ w: Weights, _ prefix: String) throws {
        let c = try w.shape("\(prefix).weight")
        weight = try w.tensor("\(prefix).weight")
        bias = try w.tensor("\(prefix).bias", shape: c)
        runningMean = try w.tensor("\(prefix).running_mean", shape: c)
        runningVar = try w.tensor("\(prefix).running_var", shape: c)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        x.batchNorm2d(weight: weight, bias: bias, runningMean: runningMean, runningVar: runningVar)
    }
}
