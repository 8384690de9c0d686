import Foundation
import Models

/// One `--edit DIRECTION=AMOUNT[@START:END]` as the user wrote it, checked for syntax only (files and store
/// names are resolved later by `LatentEditResolver`, still before any photo is touched). `video` also takes an
/// amount ramp `DIRECTION=A:B` (the amount goes from A on the first frame to B on the last); every other command
/// parses with `allowRamp: false` and refuses it.
///
/// DIRECTION is a model-store name (kind `directions`), a file path (`.pt` / `.npy`), `sefa:K` (component K of
/// the base generator's closed-form factorization) or `ganspace:NAME|K` (an e4e preset, or PCA component K).
/// AMOUNT may be left out only for a GANSpace preset, which then uses e4e's own strength. `@START:END` picks W+
/// rows with Python slice semantics (either side may be empty or negative).
public struct EditSpec: Equatable, CustomStringConvertible {
    public enum Direction: Equatable {
        case named(String)
        case sefa(Int)
        case ganspacePreset(String)
        case ganspaceComponent(Int)
    }

    public var text: String
    public var direction: Direction
    public var amount: Float?
    public var rows: LatentRows?
    /// `A:B`: the amount ramps from A to B across a video (`amount` is then B, what the last frame applies).
    public var ramp: AmountRamp?

    public struct AmountRamp: Equatable {
        public var from: Float
        public var to: Float
        /// The amount at t ∈ [0, 1].
        public func amount(at t: Float) -> Float { from + t * (to - from) }
    }

    public var description: String { text }

    /// A single amount (a ramp is refused: every command but `video`).
    public static func parse(_ text: String) throws -> EditSpec { try parse(text, allowRamp: false) }

    public static func parse(_ text: String, allowRamp: Bool) throws -> EditSpec {
        func fail(_ problem: String) -> PipelineError {
            let ramp = allowRamp ? ", or DIRECTION=A:B to ramp the amount from A to B, e.g. age=-3:+3" : ""
            return .invalidArgument("--edit '\(text)': \(problem) (expected DIRECTION=AMOUNT[@START:END], e.g. age=3, sefa:2=-5@0:8, ganspace:smile\(ramp))")
        }
        var rest = Substring(text)
        var rows: LatentRows?
        if let at = rest.lastIndex(of: "@") {
            let range = rest[rest.index(after: at)...]
            let parts = range.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw fail("the rows '@\(range)' must be START:END") }
            func bound(_ s: Substring) throws -> Int? {
                if s.isEmpty { return nil }
                guard let v = Int(s) else { throw fail("'\(s)' in '@\(range)' is not a whole number") }
                return v
            }
            rows = LatentRows(start: try bound(parts[0]), end: try bound(parts[1]))
            rest = rest[..<at]
        }
        var amount: Float?
        var ramp: AmountRamp?
        if let eq = rest.lastIndex(of: "=") {
            let value = rest[rest.index(after: eq)...]
            let ends = value.split(separator: ":", omittingEmptySubsequences: false)
            if ends.count == 2 {
                guard allowRamp else {
                    throw PipelineError.invalidArgument("--edit '\(text)': an amount ramp A:B is only for `nada-edit video` (it ramps across the frames); give one amount here, e.g. \(rest[..<eq])=\(ends[1])")
                }
                guard let a = Float(ends[0]), a.isFinite, let b = Float(ends[1]), b.isFinite else {
                    throw fail("the ramp '\(value)' must be two finite numbers A:B")
                }
                ramp = AmountRamp(from: a, to: b)
                amount = b
            } else {
                guard let v = Float(value), v.isFinite else { throw fail("the amount '\(value)' is not a finite number") }
                amount = v
            }
            rest = rest[..<eq]
        }
        let name = String(rest)
        guard !name.isEmpty else { throw fail("no direction before the amount") }
        let direction: Direction
        let lower = name.lowercased()
        if lower.hasPrefix("sefa:") {
            guard let k = Int(name.dropFirst(5)), k >= 0 else { throw fail("sefa:K needs a component number K ≥ 0, got '\(name.dropFirst(5))'") }
            direction = .sefa(k)
        } else if lower.hasPrefix("ganspace:") {
            let what = String(name.dropFirst(9))
            if let k = Int(what) {
                guard k >= 0 else { throw fail("GANSpace component numbers start at 0, got \(k)") }
                direction = .ganspaceComponent(k)
            } else {
                guard GANSpacePreset.named(what) != nil else {
                    throw fail("unknown GANSpace edit '\(what)'; presets: \(GANSpacePreset.all.map(\.name).joined(separator: ", ")), or a component number")
                }
                direction = .ganspacePreset(what.lowercased())
            }
        } else {
            direction = .named(name)
        }
        if amount == nil {
            if case .ganspacePreset = direction {} else { throw fail("no amount; write \(name)=AMOUNT") }
        }
        return EditSpec(text: text, direction: direction, amount: amount, rows: rows, ramp: ramp)
    }
}

/// e4e's named GANSpace edits for its FFHQ PCA (`editings/ganspace_pca/ffhq_pca.pt`), as the e4e inference
/// notebook publishes them: PCA component, W+ rows start..<end, and the strength (the coordinate, in stds, the
/// edit sets). `--edit ganspace:smile` uses them as they are; `=AMOUNT` and `@START:END` override the strength
/// and the rows.
public struct GANSpacePreset: Equatable {
    public let name: String
    public let component: Int
    public let start: Int
    public let end: Int
    public let strength: Float

    public static let all: [GANSpacePreset] = [
        GANSpacePreset(name: "eye_openness", component: 54, start: 7, end: 8, strength: 20),
        GANSpacePreset(name: "smile", component: 46, start: 4, end: 5, strength: -20),
        GANSpacePreset(name: "trimmed_beard", component: 58, start: 7, end: 9, strength: 20),
        GANSpacePreset(name: "white_hair", component: 57, start: 7, end: 10, strength: -24),
        GANSpacePreset(name: "lipstick", component: 34, start: 10, end: 11, strength: 20),
    ]

    public static func named(_ name: String) -> GANSpacePreset? { all.first { $0.name == name.lowercased() } }
}
