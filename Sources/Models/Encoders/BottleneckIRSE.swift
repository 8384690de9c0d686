import Engine

/// Squeeze-excitation (`SEModule`): x · σ(fc2(relu(fc1(mean_HW(x))))) with bias-free 1×1 convs.
struct SqueezeExcite {
    let fc1: Tensor, fc2: Tensor // [C/r, C, 1, 1], [C, C/r, 1, 1]

    init(_ w: Weights, _ prefix: String) throws {
        fc1 = try w.tensor("\(prefix).fc1.weight")
        fc2 = try w.tensor("\(prefix).fc2.weight")
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let g = x.adaptiveAvgPool2d(height: 1, width: 1)
        let gate = g.conv2d(weight: fc1).relu().conv2d(weight: fc2).sigmoid()
        return x * gate
    }
}

/// One `bottleneck_IR_SE` unit of the IR-SE-50 body:
/// res = SE(BN(conv3x3_s(PReLU(conv3x3(BN(x)))))), out = res + shortcut(x).
/// The shortcut is a strided 1×1 conv + BN when the width changes, otherwise `MaxPool2d(1, stride)`,
/// which is plain subsampling.
struct BottleneckIRSE {
    let stride: Int
    let shortcutConv: Tensor?
    let shortcutBN: BatchNorm2d?
    let bnIn: BatchNorm2d, conv1: Tensor, prelu: Tensor, conv2: Tensor, bnOut: BatchNorm2d
    let se: SqueezeExcite

    init(_ w: Weights, _ prefix: String, stride: Int) throws {
        self.stride = stride
        if w.has("\(prefix).shortcut_layer.0.weight") {
            shortcutConv = try w.tensor("\(prefix).shortcut_layer.0.weight")
            shortcutBN = try BatchNorm2d(w, "\(prefix).shortcut_layer.1")
        } else {
            shortcutConv = nil
            shortcutBN = nil
        }
        bnIn = try BatchNorm2d(w, "\(prefix).res_layer.0")
        conv1 = try w.tensor("\(prefix).res_layer.1.weight")
        prelu = try w.tensor("\(prefix).res_layer.2.weight")
        conv2 = try w.tensor("\(prefix).res_layer.3.weight")
        bnOut = try BatchNorm2d(w, "\(prefix).res_layer.4")
        se = try SqueezeExcite(w, "\(prefix).res_layer.5")
    }

    var inChannels: Int { conv1.shape[1] }
    var depth: Int { conv1.shape[0] }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let shortcut: Tensor
        if let shortcutConv, let shortcutBN {
            shortcut = shortcutBN(x.conv2d(weight: shortcutConv, stride: stride))
        } else {
            shortcut = stride == 1 ? x : x.subsampled(stride: stride)
        }
        var r = bnIn(x).conv2d(weight: conv1, padding: 1).prelu(prelu)
        r = bnOut(r.conv2d(weight: conv2, stride: stride, padding: 1))
        return se(r) + shortcut
    }
}
