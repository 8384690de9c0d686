/// Which generator modules StyleGAN-NADA trains, by state-dict prefix.
///
/// The reference works on `list(Generator.children())` = [style, input, conv1, to_rgb1, convs, upsamples,
/// to_rgbs, noises]. A parameter belongs to module `m` when its name starts with `m + "."`.

public enum TrainingPhase: String, CaseIterable, Codable, Sendable {
    case texture, shape, all
    case noFine = "no_fine"
    case shapeExpanded = "shape_expanded"
    /// `--phase` unset: input, conv1 and every conv (no mapping, no ToRGB).
    case standard = "default"
}

public enum LayerSelection {
    /// Python's `list[lo:hi]` on 0..<count: bounds clipped, never an error.
    static func pySlice(_ lo: Int, _ hi: Int?, count: Int) -> Range<Int> {
        let l = min(max(lo, 0), count), h = min(max(hi ?? count, 0), count)
        return l..<max(l, h)
    }

    /// Module prefixes trained in `phase` (`SG2Generator.get_training_layers`).
    public static func modules(phase: TrainingPhase, numConvs: Int, numToRGBs: Int) -> [String] {
        let head = ["input", "conv1"]
        func convs(_ r: Range<Int>) -> [String] { r.map { "convs.\($0)" } }
        switch phase {
        case .texture: return head + convs(pySlice(2, 10, count: numConvs))
        case .shape: return head + convs(pySlice(0, 2, count: numConvs))
        case .noFine: return head + convs(pySlice(0, 10, count: numConvs))
        case .shapeExpanded: return head + convs(pySlice(0, 3, count: numConvs))
        case .all: return ["style", "input", "conv1", "to_rgb1"] + convs(0..<numConvs) + (0..<numToRGBs).map { "to_rgbs.\($0)" }
        case .standard: return head + convs(0..<numConvs)
        }
    }

    /// The module that adaptive selection trains for W+ row `index`.
    ///
    /// The reference (`determine_opt_layers`) maps row 0 → conv1, 1 → to_rgb1, k ≥ 2 → convs[k-2], which is one
    /// off from the rows that actually drive those layers (row k drives convs[k-1]). `corrected` uses the true
    /// consumer: 0 → conv1, k in 1...numConvs → convs[k-1], the last row → the last ToRGB.
    public static func module(forLatentIndex index: Int, numConvs: Int, numToRGBs: Int, corrected: Bool) -> String {
        if corrected {
            if index == 0 { return "conv1" }
            if index <= numConvs { return "convs.\(index - 1)" }
            return "to_rgbs.\(numToRGBs - 1)"
        }
        switch index {
        case 0: return "conv1"
        case 1: return "to_rgb1"
        default: return "convs.\(index - 2)"
        }
    }

    /// Indices of the `k` largest scores, largest first (ties: lower index first, as torch.topk on CPU).
    public static func topK(_ scores: [Float], _ k: Int) -> [Int] {
        Array(scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }.prefix(k))
    }

    /// True when parameter `name` lies in one of `modules`.
    public static func belongs(_ name: String, to modules: [String]) -> Bool {
        modules.contains { name.hasPrefix($0 + ".") }
    }
}

/// The layers StyleGAN-NADA trains in a StyleGAN3 generator (`SG3Generator` in ZSSGAN/model/ZSSGAN.py, the
/// official `--sg3` path). Unlike StyleGAN2 there is no choice: `get_training_layers` ignores the phase and
/// returns `children[:11] + children[12:13] + children[14:]` of `list(G.synthesis.children())` = [input, L0, …,
/// L14] for the released configs, i.e. every synthesis layer but L10 and L12 (on a generator with fewer
/// layers the Python slices simply clip). `unfreeze_layers` then re-freezes each layer's `affine`, and the
/// mapping network stays frozen, so the trained tensors are `input.weight` and each chosen layer's `weight`
/// and `bias`. The official README: "neither model currently supports layer freezing" (adaptive selection).
public enum StyleGAN3LayerSelection {
    /// The trained children of `synthesis` (by name), in order.
    public static func trainedChildren(_ children: [String]) -> [String] {
        let n = children.count
        let indices = Array(LayerSelection.pySlice(0, 11, count: n)) + Array(LayerSelection.pySlice(12, 13, count: n))
            + Array(LayerSelection.pySlice(14, nil, count: n))
        return indices.map { children[$0] }
    }

    /// True when state-dict parameter `name` (`synthesis.L3_52_512.weight`, …) is trained: it lies in one of
    /// `trainedChildren` and not in that child's `affine`.
    public static func isTrained(_ name: String, trainedChildren: [String]) -> Bool {
        trainedChildren.contains { child in
            let prefix = "synthesis.\(child)."
            return name.hasPrefix(prefix) && !name.dropFirst(prefix.count).hasPrefix("affine.")
        }
    }
}
