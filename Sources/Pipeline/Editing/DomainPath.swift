import Foundation

/// `nada-edit video`'s `--domain` values as a path through weight space: waypoints visited in order, each the
/// base generator (`photo`), one domain (weight `--strength`), or a blend `a=0.6,b=0.4`. Between two waypoints
/// the weights move linearly, and the generator is always `base + Σ wᵢ·(domainᵢ − base)`.
///
/// Compatible with the single-target form: one waypoint X means `photo → X`, and values that are all `NAME=W`
/// without commas (`--domain sketch=0.6 --domain pixar=0.4`) are one blend, as for `edit`, so `photo → blend`.
public struct DomainPath: Equatable {
    /// The waypoint name that means the base generator. A domain installed under this name is reached with the
    /// blend form `photo=1`.
    public static let baseName = "photo"

    public struct Waypoint: Equatable {
        /// `photo`, the domain name, or the blend's output name (`sketch60_pixar40`).
        public var label: String
        /// Domain → weight; empty for the base generator.
        public var weights: [DomainBlend.Member]
        public var isBlend: Bool
    }

    public var waypoints: [Waypoint]

    public static func parse(_ values: [String], strength: Float = 1) throws -> DomainPath {
        guard !values.isEmpty else { throw PipelineError.invalidArgument("give --domain NAME (repeat it for a path through domains)") }
        var points: [Waypoint]
        if values.allSatisfy({ $0.contains("=") && !$0.contains(",") }) {
            points = [try blend(values)]
        } else {
            points = try values.map { value in
                if value == baseName { return Waypoint(label: baseName, weights: [], isBlend: false) }
                if value.contains("=") { return try blend(value.split(separator: ",", omittingEmptySubsequences: false).map(String.init)) }
                guard !value.isEmpty, !value.contains("/") else {
                    throw PipelineError.invalidArgument("--domain '\(value)': not a domain name (a domain, '\(baseName)' for the base generator, or NAME=W[,NAME=W...] for a blend)")
                }
                return Waypoint(label: value, weights: [DomainBlend.Member(name: value, weight: strength)], isBlend: false)
            }
        }
        if points.count == 1 { points.insert(Waypoint(label: baseName, weights: [], isBlend: false), at: 0) }
        if strength != 1, points.contains(where: \.isBlend) {
            throw PipelineError.invalidArgument("--strength does not apply to a blend waypoint: its weights already say how much of each domain to use")
        }
        guard points.contains(where: { !$0.weights.isEmpty }) else {
            throw PipelineError.invalidArgument("the --domain path \(points.map(\.label).joined(separator: " -> ")) has no domain; give at least one installed domain (the base generator is found through its record)")
        }
        return DomainPath(waypoints: points)
    }

    static func blend(_ values: [String]) throws -> Waypoint {
        let b = try DomainBlend.parse(values)
        return Waypoint(label: b.outputName, weights: b.members, isBlend: true)
    }

    /// Every domain the path uses, once each, in order of first use.
    public var domainNames: [String] {
        var seen: [String] = []
        for point in waypoints { for m in point.weights where !seen.contains(m.name) { seen.append(m.name) } }
        return seen
    }

    /// `photo -> sketch -> pixar` (for messages and provenance).
    public var description: String { waypoints.map(\.label).joined(separator: " -> ") }

    /// The weight of each of `domainNames` at t ∈ [0, 1]: the path's waypoints are spread evenly over t (segment s
    /// of S covers [s/S, (s+1)/S]) and the weights are linear within a segment.
    public func weights(at t: Float) -> [Float] {
        let names = domainNames
        func vector(_ p: Waypoint) -> [Float] { names.map { n in p.weights.first { $0.name == n }?.weight ?? 0 } }
        let segments = waypoints.count - 1
        let position = min(max(t, 0), 1) * Float(segments)
        let s = min(Int(position), segments - 1)
        let u = position - Float(s)
        let a = vector(waypoints[s]), b = vector(waypoints[s + 1])
        return zip(a, b).map { (1 - u) * $0 + u * $1 }   // this form hits both ends exactly
    }
}
