import Engine
import Foundation
import Formats
import Models

/// An `--edit` ready to apply, with the line provenance records for it.
public struct ResolvedEdit {
    public let spec: EditSpec
    public let edit: LatentEdit
    /// What was applied: the direction and its SHA-256 (or `sefa:K` of which generator), amount and rows.
    public let record: String
}

/// Turns `--edit` specs into latent edits: finds direction files (a path, or a `directions` entry of the model
/// store), GANSpace PCA (the store's `ganspace` entry) and SeFa components (computed from the generator once,
/// then cached as `cache/sefa/<generator sha256>.npy` in the store). Files are read once per resolver.
public final class LatentEditResolver {
    public let store: ModelStore?
    /// Progress notes (SeFa computed or read from the cache).
    public var log: (String) -> Void = { _ in }
    /// The store name of the GANSpace PCA that `ganspace:` edits use.
    public static let ganspaceName = "ganspace"

    private var files: [String: (content: DirectionFile, sha256: String)] = [:]
    private var sefa: [String: Tensor] = [:]

    public init(store: ModelStore?) { self.store = store }

    /// A file path, or the file of a `directions` entry in the store (store names win over relative paths).
    func directionPath(_ name: String, spec: EditSpec) throws -> String {
        if let store, !name.contains("/"), let entry = try store.loadManifest().entry(named: name) {
            guard entry.kind == .directions else {
                throw PipelineError.invalidArgument("--edit '\(spec.text)': '\(name)' in the model store is \(entry.kind.rawValue), not a direction (add directions with `nada-edit models add FILE --kind directions`)")
            }
            return store.path(entry.file)
        }
        if FileOps.isRegularFile(name) { return name }
        let where_ = store.map { " and no direction of that name in the model store \($0.root)" } ?? ""
        throw PipelineError.invalidArgument("--edit '\(spec.text)': '\(name)' is no file\(where_) (add one with `nada-edit models add age.pt --kind directions --name age`)")
    }

    func file(_ path: String) throws -> (content: DirectionFile, sha256: String) {
        if let cached = files[path] { return cached }
        let loaded = (try DirectionFile.load(path), try FileDigest.sha256Hex(ofFileAt: path))
        files[path] = loaded
        return loaded
    }

    func ganspacePCA(spec: EditSpec) throws -> (pca: GANSpacePCA, sha256: String, name: String) {
        let how = "add e4e's editings/ganspace_pca/ffhq_pca.pt with `nada-edit models add ffhq_pca.pt --kind directions --name \(Self.ganspaceName)`"
        guard let store, let entry = try store.loadManifest().entry(named: Self.ganspaceName) else {
            throw PipelineError.invalidArgument("--edit '\(spec.text)': GANSpace edits need a PCA named '\(Self.ganspaceName)' in the model store; \(how)")
        }
        guard entry.kind == .directions else {
            throw PipelineError.invalidArgument("--edit '\(spec.text)': the store's '\(Self.ganspaceName)' is \(entry.kind.rawValue), not a GANSpace PCA; \(how)")
        }
        let (content, sha) = try file(store.path(entry.file))
        guard case .pca(let pca) = content else {
            throw PipelineError.invalidArgument("--edit '\(spec.text)': the store's '\(Self.ganspaceName)' (\(entry.file)) is a single direction, not a GANSpace PCA (comp, std, mean)")
        }
        return (pca, sha, entry.file)
    }

    /// SeFa components [style_dim, style_dim] of the generator at `path`: from memory, the store's cache, or
    /// computed (and cached when the store is writable).
    public func sefaComponents(generatorPath path: String) throws -> (components: Tensor, sha256: String) {
        let sha = try FileDigest.sha256Hex(ofFileAt: path)
        if let cached = sefa[sha] { return (cached, sha) }
        let cachePath = store.map { ($0.path("cache/sefa") as NSString).appendingPathComponent("\(sha).npy") }
        if let cachePath, FileOps.isRegularFile(cachePath), let a = try? readNpy(cachePath),
           a.dtype == .float32, a.shape.count == 2, a.shape[0] == a.shape[1] {
            let t = Tensor(shape: a.shape, values: a.floats())
            sefa[sha] = t
            return (t, sha)
        }
        log("computing SeFa components of \(path) (once; cached in the model store)")
        let components = try ModelResolver.generator(at: path).sefaComponents()
        if let cachePath {
            do {
                try FileOps.createDirectory((cachePath as NSString).deletingLastPathComponent)
                try writeNpy(ArrayData(shape: components.shape, floats: components.array), to: cachePath)
            } catch {
                log("warning: could not cache SeFa components at \(cachePath) (\(error)); they will be computed again next time")
            }
        }
        sefa[sha] = components
        return (components, sha)
    }

    /// Resolves every spec for codes of `nLatent` × `styleDim`; `sefaGenerator` is the generator `sefa:K`
    /// factorizes (a domain's base generator). Errors name the spec and what is wrong.
    public func resolve(_ specs: [EditSpec], nLatent: Int, styleDim: Int, sefaGenerator: String?) throws -> [ResolvedEdit] {
        // Files and store names first, so a typo fails before a SeFa factorization is computed.
        let cheap = specs.enumerated().filter { if case .sefa = $0.element.direction { return false } else { return true } }
        let costly = specs.enumerated().filter { if case .sefa = $0.element.direction { return true } else { return false } }
        var resolved = [ResolvedEdit?](repeating: nil, count: specs.count)
        for (i, spec) in cheap + costly {
            resolved[i] = try resolve(spec, nLatent: nLatent, styleDim: styleDim, sefaGenerator: sefaGenerator)
        }
        return resolved.map { $0! }
    }

    func resolve(_ spec: EditSpec, nLatent: Int, styleDim: Int, sefaGenerator: String?) throws -> ResolvedEdit {
        let edit: LatentEdit, what: String
        switch spec.direction {
        case .named(let name):
            let path = try directionPath(name, spec: spec)
            let (content, sha) = try file(path)
            guard case .direction(let direction) = content else {
                throw PipelineError.invalidArgument("--edit '\(spec.text)': \(path) is a GANSpace PCA, not a single direction; use ganspace:K=AMOUNT (store it as '\(Self.ganspaceName)')")
            }
            edit = .shift(direction, amount: spec.amount!, rows: spec.rows ?? .all)
            what = "\(name) (sha256 \(sha))"
        case .sefa(let k):
            guard let sefaGenerator else {
                throw PipelineError.invalidArgument("--edit '\(spec.text)': no generator to factorize for SeFa")
            }
            let (components, sha) = try sefaComponents(generatorPath: sefaGenerator)
            let d = components.shape[1]
            guard k < components.shape[0] else {
                throw PipelineError.invalidArgument("--edit '\(spec.text)': the generator has \(components.shape[0]) SeFa components (0...\(components.shape[0] - 1))")
            }
            let direction = try LatentDirection(values: Array(components.array[(k * d)..<((k + 1) * d)]), styleDim: d)
            edit = .shift(direction, amount: spec.amount!, rows: spec.rows ?? .all)
            what = "sefa:\(k) of generator sha256 \(sha)"
        case .ganspacePreset(let name):
            let preset = GANSpacePreset.named(name)!
            let (pca, sha, file) = try ganspacePCA(spec: spec)
            edit = .ganspace(pca, component: preset.component, amount: spec.amount ?? preset.strength,
                             rows: spec.rows ?? LatentRows(start: preset.start, end: preset.end))
            what = "ganspace:\(name) = component \(preset.component) of \(file) (sha256 \(sha))"
        case .ganspaceComponent(let k):
            let (pca, sha, file) = try ganspacePCA(spec: spec)
            edit = .ganspace(pca, component: k, amount: spec.amount!, rows: spec.rows ?? .all)
            what = "ganspace:\(k) of \(file) (sha256 \(sha))"
        }
        do { try edit.validate(nLatent: nLatent, styleDim: styleDim) }
        catch { throw PipelineError.invalidArgument("--edit '\(spec.text)': \(error)") }
        let amount: Float
        switch edit { case .shift(_, let a, _), .ganspace(_, _, let a, _): amount = a }
        let rows = edit.rows.resolved(count: nLatent)
        return ResolvedEdit(spec: spec, edit: edit, record: "\(what), amount \(amount), rows \(rows.lowerBound):\(rows.upperBound)")
    }
}
