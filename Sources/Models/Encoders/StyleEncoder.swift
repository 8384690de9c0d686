import Engine
import Formats

/// The encoder families nada-edit reads, named by their `opts.encoder_type`.
public enum EncoderKind: String, CaseIterable, Sendable {
    /// pSp (`GradualStyleEncoder`): FPN heads, one style per head.
    case pSp = "GradualStyleEncoder"
    /// e4e (`Encoder4Editing`): w0 from the first head, every other row w0 + Δ_i.
    case e4e = "Encoder4Editing"
    /// ReStyle, e4e flavour (`ProgressiveBackboneEncoder`): 6-channel input, heads on the last map, w0 + Δ_i.
    case restyleE4E = "ProgressiveBackboneEncoder"
    /// ReStyle, pSp flavour (`BackboneEncoder`): 6-channel input, one style per head on the last map.
    case restylePSP = "BackboneEncoder"

    /// Iterative encoders take [image, previous reconstruction] and predict a residual in W+.
    public var isIterative: Bool { self == .restyleE4E || self == .restylePSP }
    /// Rows after the first are w0 + Δ_i instead of independent styles.
    var isProgressive: Bool { self == .e4e || self == .restyleE4E }
}

/// An image → W+ encoder with an IR-SE-50 trunk (the `encoder.*` half of a pSp/e4e/ReStyle checkpoint).
public final class StyleEncoder {
    public let kind: EncoderKind
    let backbone: IRSEBackbone
    let styles: [GradualStyleBlock]
    let lateral1: (weight: Tensor, bias: Tensor)?   // latlayer1: c2 → FPN width
    let lateral2: (weight: Tensor, bias: Tensor)?   // latlayer2: c1 → FPN width

    /// `weights` are the encoder's tensors without the `encoder.` prefix.
    public init(kind: EncoderKind, weights w: Weights) throws {
        self.kind = kind
        backbone = try IRSEBackbone(w)
        var styles: [GradualStyleBlock] = []
        while w.has("styles.\(styles.count).linear.weight") { styles.append(try GradualStyleBlock(w, "styles.\(styles.count)")) }
        guard !styles.isEmpty else { throw ModelLoadError("\(w.source): encoder has no style heads (styles.0.*)") }
        self.styles = styles
        if w.has("latlayer1.weight") {
            lateral1 = (try w.tensor("latlayer1.weight"), try w.tensor("latlayer1.bias"))
            lateral2 = (try w.tensor("latlayer2.weight"), try w.tensor("latlayer2.bias"))
        } else {
            lateral1 = nil
            lateral2 = nil
        }
        if kind.isIterative == (lateral1 != nil) {
            throw ModelLoadError("\(w.source): encoder type \(kind.rawValue) does not match its tensors (\(lateral1 == nil ? "no" : "has") FPN lateral layers)")
        }
        if kind.isIterative && backbone.inputChannels != 6 {
            throw ModelLoadError("\(w.source): \(kind.rawValue) expects a 6-channel input layer, found \(backbone.inputChannels)")
        }
        if lateral1 != nil && backbone.stageEnds.count < 3 {
            throw ModelLoadError("\(w.source): the feature pyramid needs at least 3 backbone stages, found \(backbone.stageEnds.count)")
        }
    }

    public var styleCount: Int { styles.count }
    public var styleDim: Int { styles[0].outChannels }
    public var inputChannels: Int { backbone.inputChannels }

    /// Raw codes [N, n_styles, style_dim] (without latent_avg). `x` is [N, C, 256, 256] in [-1, 1].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        Autograd.noGrad {
            if lateral1 == nil {
                let features = backbone(x).output
                return combine(styles.map { $0(features) })
            }
            // FPN taps: the last units of the last three stages (body 6, 20, 23 in IR-SE-50).
            let ends = backbone.stageEnds.suffix(3)
            let (c3, taps) = backbone(x, taps: Set(ends))
            let c1 = taps[ends[ends.startIndex]]!, c2 = taps[ends[ends.startIndex + 1]]!
            var p2: Tensor?, p1: Tensor?
            // Each head reads the pyramid level whose side it reduces to 1×1 (16 → c3, 32 → p2, 64 → p1).
            func features(for head: GradualStyleBlock) -> Tensor {
                if head.spatial <= c3.shape[2] { return c3 }
                if p2 == nil { p2 = upsampleAdd(c3, c2.conv2d(weight: lateral1!.weight, bias: lateral1!.bias)) }
                if head.spatial <= p2!.shape[2] { return p2! }
                if p1 == nil { p1 = upsampleAdd(p2!, c1.conv2d(weight: lateral2!.weight, bias: lateral2!.bias)) }
                return p1!
            }
            return combine(styles.map { $0(features(for: $0)) })
        }
    }

    /// Stacks per-head outputs [N, D] into W+; progressive kinds add w0 to every delta.
    private func combine(_ outputs: [Tensor]) -> Tensor {
        let rows = kind.isProgressive ? [outputs[0]] + outputs.dropFirst().map { outputs[0] + $0 } : outputs
        return Tensor.stack(rows, axis: 1)
    }
}
