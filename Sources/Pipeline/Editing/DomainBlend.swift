import Foundation

/// What the `--domain` values of one run ask for: separate domains (`--domain sketch --domain pixar`, one
/// output each) or one blend (`--domain sketch=0.6 --domain pixar=0.4`, one output rendered with
/// `base + Σ wᵢ·(domainᵢ − base)`). A run is one or the other: once any value has a weight, all must.
public enum DomainSelection: Equatable {
    case separate([String])
    case blend(DomainBlend)

    public static func parse(_ values: [String]) throws -> DomainSelection {
        guard values.contains(where: { $0.contains("=") }) else { return .separate(values) }
        return .blend(try DomainBlend.parse(values))
    }

    /// The name each output carries in `<stem>.<name>.<ext>`: the domains, or the blend's name.
    public var outputNames: [String] {
        switch self {
        case .separate(let names): return names
        case .blend(let blend): return [blend.outputName]
        }
    }
}

/// Domains mixed weight by weight. Their weights are in (0, 1] and sum to at most 1; what is left is the base
/// generator. Every domain must have been adapted from the same base generator (same SHA-256 in its record).
public struct DomainBlend: Equatable {
    public struct Member: Equatable {
        public var name: String
        public var weight: Float
    }
    public var members: [Member]

    /// `NAME=W` values, e.g. ["sketch=0.6", "pixar=0.4"].
    public static func parse(_ values: [String]) throws -> DomainBlend {
        var members: [Member] = []
        for value in values {
            guard let eq = value.lastIndex(of: "=") else {
                throw PipelineError.invalidArgument("--domain \(value): in a blend every domain needs a weight (--domain \(value)=W), since the others have one")
            }
            let name = String(value[..<eq]), number = value[value.index(after: eq)...]
            guard !name.isEmpty else { throw PipelineError.invalidArgument("--domain \(value): no domain name before '='") }
            guard let w = Float(number), w.isFinite, w > 0, w <= 1 else {
                throw PipelineError.invalidArgument("--domain \(value): the weight '\(number)' must be a number in (0, 1]")
            }
            guard !members.contains(where: { $0.name == name }) else {
                throw PipelineError.invalidArgument("--domain \(value): domain '\(name)' is given twice")
            }
            members.append(Member(name: name, weight: w))
        }
        let total = members.reduce(Float(0)) { $0 + $1.weight }
        // 1e-5 forgives decimal rounding such as 0.7 + 0.2 + 0.1.
        guard total <= 1 + 1e-5 else {
            throw PipelineError.invalidArgument("--domain weights sum to \(total) (\(values.joined(separator: " + "))); a blend's weights sum to at most 1, the rest being the base generator")
        }
        return DomainBlend(members: members)
    }

    /// `sketch60_pixar40`: each domain with its weight in percent (up to two decimals, trailing zeros dropped),
    /// joined by '_' in the order given. Outputs are `<stem>.sketch60_pixar40.<ext>`. ('_' rather than '+': output
    /// names follow the store's name rule, letters, digits, '-', '_' and '.'; provenance records the exact blend.)
    public var outputName: String {
        members.map { $0.name + Self.percent($0.weight) }.joined(separator: "_")
    }

    static func percent(_ w: Float) -> String {
        let hundredths = Int((Double(w) * 10000).rounded())
        let whole = hundredths / 100, fraction = hundredths % 100
        if fraction == 0 { return String(whole) }
        return fraction % 10 == 0 ? "\(whole).\(fraction / 10)" : String(format: "%d.%02d", whole, fraction)
    }

    /// The installed domains, checked to share one base generator.
    public func resolve(in registry: DomainRegistry) throws -> [(domain: InstalledDomain, weight: Float)] {
        let resolved = try members.map { (domain: try registry.resolve($0.name), weight: $0.weight) }
        try Self.checkSharedBase(resolved.map(\.domain), action: "blend")
        return resolved
    }

    /// Refuses domains adapted from different base generators (by the base SHA-256 in their records): weights
    /// can only be mixed over one base. `action` names what was asked ("blend", "interpolate").
    public static func checkSharedBase(_ domains: [InstalledDomain], action: String) throws {
        let bases = Set(domains.map { $0.record.baseGenerator.sha256 })
        guard bases.count <= 1 else {
            let list = domains.map { "\($0.record.name): \($0.record.baseGenerator.sha256)" }.joined(separator: ", ")
            throw PipelineError.invalidArgument("cannot \(action) \(domains.map(\.record.name).joined(separator: " and ")): they were adapted from different base generators (base SHA-256 \(list)); only domains of one base generator can be mixed")
        }
    }
}
