import Engine

/// The IR-SE-50 trunk shared by pSp, e4e and ReStyle (`models/encoders/helpers.py`):
/// `input_layer` (conv3x3 → BN → PReLU) and the `body` of bottleneck units.
///
/// Unit count, widths and SE sizes come from the checkpoint. Strides cannot be read from weights (the
/// identity shortcut is a parameter-free max-pool), so we use the architecture's rule (`get_block`): the
/// first unit of every stage has stride 2, where a stage starts at unit 0 and at every width change.
struct IRSEBackbone {
    let inputConv: Tensor
    let inputBN: BatchNorm2d
    let inputPReLU: Tensor
    let units: [BottleneckIRSE]
    /// Index of the last unit of each stage (taps for the feature pyramid: c1, c2, c3 are the last three).
    let stageEnds: [Int]

    init(_ w: Weights) throws {
        inputConv = try w.tensor("input_layer.0.weight")
        inputBN = try BatchNorm2d(w, "input_layer.1")
        inputPReLU = try w.tensor("input_layer.2.weight")
        var count = 0
        while w.has("body.\(count).res_layer.1.weight") { count += 1 }
        guard count > 0 else { throw ModelLoadError("\(w.source): no IR-SE body units (body.0.res_layer.1.weight)") }
        var units: [BottleneckIRSE] = []
        var ends: [Int] = []
        for i in 0..<count {
            let stageStart = i == 0 || w.has("body.\(i).shortcut_layer.0.weight")
            if stageStart && i > 0 { ends.append(i - 1) }
            units.append(try BottleneckIRSE(w, "body.\(i)", stride: stageStart ? 2 : 1))
        }
        ends.append(count - 1)
        self.units = units
        stageEnds = ends
    }

    var inputChannels: Int { inputConv.shape[1] }
    var outputChannels: Int { units.last!.depth }

    /// Runs the trunk, returning the output of every unit listed in `taps` (by unit index) and the final map.
    func callAsFunction(_ x: Tensor, taps: Set<Int> = []) -> (output: Tensor, taps: [Int: Tensor]) {
        var h = inputBN(x.conv2d(weight: inputConv, padding: 1)).prelu(inputPReLU)
        var tapped: [Int: Tensor] = [:]
        for (i, unit) in units.enumerated() {
            h = unit(h)
            if taps.contains(i) { tapped[i] = h }
        }
        return (h, tapped)
    }
}
