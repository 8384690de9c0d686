import Foundation

/// The kinds of file the model store keeps, one sub-folder each.
public enum ModelKind: String, CaseIterable, Codable {
    case generators, encoders, clip, vocab, domains, landmarks, directions

    /// Accepts the plural folder names and their singular forms (`generator`, `encoder`, ...).
    public init?(userName: String) {
        let lower = userName.lowercased()
        if let kind = ModelKind(rawValue: lower) { self = kind; return }
        if let kind = ModelKind(rawValue: lower + "s") { self = kind; return }
        return nil
    }

    /// Best guess from a file name, for `models add FILE` without `--kind`.
    public static func guess(fromFileName name: String) -> ModelKind? {
        let lower = name.lowercased()
        if lower.hasPrefix("shape_predictor") || lower.hasSuffix(".dat") { return .landmarks }
        if lower.hasSuffix(".txt.gz") || lower.hasSuffix(".txt") || lower.contains("vocab") { return .vocab }
        if lower.hasSuffix(".json") { return .domains }
        // e4e ships editings/interfacegan_directions/*.pt and editings/ganspace_pca/*_pca.pt.
        if lower.hasSuffix(".npy") || lower.contains("interfacegan") || lower.contains("ganspace") || lower.hasSuffix("_pca.pt")
            || lower.contains("direction") || lower.contains("sefa") { return .directions }
        if lower.contains("clip") || lower.contains("vit-") || lower.hasPrefix("rn50") { return .clip }
        if lower.contains("e4e") || lower.contains("psp") || lower.contains("restyle") || lower.contains("encode") { return .encoders }
        // NVlabs network pickles (stylegan2-ada, stylegan3 `*.pkl`) hold generators.
        if lower.contains("stylegan") || lower.contains("generator") || lower.contains("ffhq") || lower.hasSuffix(".pkl") { return .generators }
        return nil
    }
}
