import Foundation
import Formats
import Models

/// A StyleGAN3 generator adapted by `nada-edit train`, on disk (`generator.pt` of the run, its `checkpoint.pt`).
///
/// A rosinality `{"g_ema": …}` checkpoint cannot hold a StyleGAN3 network, and nada-edit does not write NVlabs
/// pickles (they embed the network's Python source, which is not ours to ship). So the file holds what training
/// changed and names what it did not: a PyTorch zip
/// `{"stylegan3_base": {"path", "sha256", "network", "family"}, "stylegan3_trained": OrderedDict(NVlabs
/// state-dict name → tensor)}` (checkpoints add `nada_resume`). Loading it = the base pickle at `path`, whose
/// SHA-256 must match, with the trained tensors written over its own; a missing or changed base is refused with
/// the path and the fix. `torch.load` reads the file; NVlabs' code does not (apply the tensors to `G_ema` of the
/// base pickle with `load_state_dict(strict=False)` to get the network back in Python).
public enum StyleGAN3DomainFile {
    public static let baseKey = "stylegan3_base"
    public static let trainedKey = "stylegan3_trained"

    public static func isDomainFile(_ file: LoadedFile) -> Bool { file.format != .nvlabsPickle && file.root[baseKey] != nil }

    /// The file's entries for `generator` (whose `source` is its base pickle: pickles and domain files both load
    /// as their base) holding the parameters `names`.
    public static func entries(_ generator: StyleGAN3Generator, names: [String]) throws -> [(String, PyValue)] {
        let base = URL(fileURLWithPath: generator.source).standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: base) else {
            throw PipelineError.io(path: base, problem: "the StyleGAN3 base generator is gone; a trained StyleGAN3 domain names it and cannot be saved without it")
        }
        let info: PyValue = .dict([
            (.string("path"), .string(base)),
            (.string("sha256"), .string(try FileDigest.sha256Hex(ofFileAt: base))),
            (.string("network"), .string("G_ema")),
            (.string("family"), .string(generator.family)),
        ])
        let tensors = names.map { name -> (name: String, array: ArrayData) in
            let t = generator.parameters[name]!
            return (name, ArrayData(shape: t.shape, floats: t.array))
        }
        return [(baseKey, info), (trainedKey, .stateDict(tensors))]
    }

    /// Writes `{"stylegan3_base", "stylegan3_trained"}` plus `extra` through a temporary name.
    public static func write(_ generator: StyleGAN3Generator, names: [String], extra: [(String, PyValue)] = [], to path: String) throws {
        let items = (try entries(generator, names: names) + extra).map { (key: PyValue.string($0.0), value: $0.1) }
        try writeTorchCheckpoint(.dict(items), to: path)
    }

    /// The base pickle a domain file names, checked: present, and with the SHA-256 it was trained from.
    public static func basePath(of file: LoadedFile) throws -> String {
        guard let info = file.root[baseKey], let base = info["path"]?.string, let sha = info["sha256"]?.string else {
            throw PipelineError.io(path: file.path, problem: "damaged StyleGAN3 domain file: '\(baseKey)' lacks path or sha256")
        }
        guard FileManager.default.fileExists(atPath: base) else {
            throw PipelineError.io(path: file.path, problem: "this StyleGAN3 domain holds only its trained tensors and needs its base generator "
                + "\(base) (SHA-256 \(sha)), which is missing; put that .pkl back at that path")
        }
        let actual = try FileDigest.sha256Hex(ofFileAt: base)
        guard actual == sha else {
            throw PipelineError.io(path: file.path, problem: "its base generator \(base) has changed (SHA-256 \(actual), trained from \(sha)); "
                + "put the original .pkl back at that path")
        }
        return base
    }

    /// The adapted generator: the base pickle's `G_ema` with the trained tensors over its own.
    public static func load(_ file: LoadedFile) throws -> StyleGAN3Generator {
        let base = try basePath(of: file)
        let g = try StyleGAN3Generator(nvlabs: try loadFile(base), network: file.root[baseKey]?["network"]?.string ?? "G_ema")
        try apply(file, to: g)
        return g
    }

    /// Writes the file's trained tensors over `g`'s (names and shapes checked); returns their names.
    @discardableResult
    public static func apply(_ file: LoadedFile, to g: StyleGAN3Generator) throws -> [String] {
        let weights = Weights(try file.stateDict(trainedKey), source: file.path)
        for name in weights.names {
            guard let current = g.parameters[name] else {
                throw PipelineError.io(path: file.path, problem: "trained tensor '\(name)' is not a parameter of the base \(g.family) generator \(g.source)")
            }
            try g.setParameter(name, try weights.tensor(name, shape: current.shape))
        }
        return weights.names
    }
}
