import Engine

/// Where a CLIP module gets its parameters: an OpenAI name and the shape it must have.
public typealias CLIPParameterSource = (_ name: String, _ shape: [Int]) throws -> Tensor

/// Observes named intermediate activations (debugging and parity tests).
public typealias CLIPTap = (_ name: String, _ value: Tensor) -> Void

/// `clip/model.py`'s LayerNorm (computed in float32 even for fp16 weights; eps 1e-5).
struct CLIPLayerNorm {
    let weight: Tensor, bias: Tensor
    init(_ prefix: String, width: Int, _ parameter: CLIPParameterSource) throws {
        weight = try parameter(prefix + ".weight", [width])
        bias = try parameter(prefix + ".bias", [width])
    }
    func callAsFunction(_ x: Tensor) -> Tensor { x.layerNorm(weight: weight, bias: bias, eps: 1e-5) }
}

/// A Linear layer, weight [out, in].
struct CLIPLinear {
    let weight: Tensor, bias: Tensor
    init(_ prefix: String, in inF: Int, out outF: Int, _ parameter: CLIPParameterSource) throws {
        weight = try parameter(prefix + ".weight", [outF, inF])
        bias = try parameter(prefix + ".bias", [outF])
    }
    func callAsFunction(_ x: Tensor) -> Tensor { x.linear(weight: weight, bias: bias) }
}

/// `ResidualAttentionBlock`: pre-LN attention and QuickGELU MLP, each added to the residual stream.
struct CLIPResidualBlock {
    let ln1: CLIPLayerNorm
    let inProjWeight: Tensor, inProjBias: Tensor
    let outProj: CLIPLinear
    let ln2: CLIPLayerNorm
    let fc: CLIPLinear, proj: CLIPLinear
    let heads: Int

    init(_ prefix: String, width: Int, _ parameter: CLIPParameterSource) throws {
        heads = width / 64
        ln1 = try CLIPLayerNorm(prefix + "ln_1", width: width, parameter)
        inProjWeight = try parameter(prefix + "attn.in_proj_weight", [3 * width, width])
        inProjBias = try parameter(prefix + "attn.in_proj_bias", [3 * width])
        outProj = try CLIPLinear(prefix + "attn.out_proj", in: width, out: width, parameter)
        ln2 = try CLIPLayerNorm(prefix + "ln_2", width: width, parameter)
        fc = try CLIPLinear(prefix + "mlp.c_fc", in: width, out: 4 * width, parameter)
        proj = try CLIPLinear(prefix + "mlp.c_proj", in: 4 * width, out: width, parameter)
    }

    /// x: [N, T, width].
    func callAsFunction(_ x: Tensor, causal: Bool) -> Tensor {
        let qkv = ln1(x).linear(weight: inProjWeight, bias: inProjBias)
        let y = x + outProj(qkv.multiHeadAttention(heads: heads, causal: causal))
        return y + proj(fc(ln2(y)).quickGELU())
    }
}

/// `Transformer`: a stack of residual blocks `<prefix>resblocks.<i>.`.
struct CLIPTransformer {
    let blocks: [CLIPResidualBlock]
    init(_ prefix: String, width: Int, layers: Int, _ parameter: CLIPParameterSource) throws {
        blocks = try (0..<layers).map { try CLIPResidualBlock("\(prefix)resblocks.\($0).", width: width, parameter) }
    }
    func callAsFunction(_ x: Tensor, causal: Bool, tap: CLIPTap?, tapPrefix: String) -> Tensor {
        var x = x
        for (i, block) in blocks.enumerated() {
            x = block(x, causal: causal)
            tap?("\(tapPrefix)\(i)", x)
        }
        return x
    }
}
