import Engine
import Formats

/// Reading a generator from a checkpoint file and producing its state dict for saving.
extension StyleGAN2Generator {
    /// Loads `g_ema` from a PyTorch checkpoint (zip or legacy) or any file `loadFile` reads, plus the
    /// top-level `latent_avg` when present (TF-converted files carry it).
    public static func load(path: String) throws -> StyleGAN2Generator {
        let file = try loadFile(path)
        guard file.root["g_ema"] != nil else {
            let keys = file.topLevelKeys
            throw ModelLoadError("\(path): no 'g_ema' entry, so this is not a StyleGAN2 generator checkpoint "
                + "(top-level keys: \(keys.isEmpty ? "none" : keys.joined(separator: ", ")))")
        }
        let g = try StyleGAN2Generator(stateDict: try file.stateDict("g_ema"), source: path)
        if let avg = file.root["latent_avg"]?.tensor {
            guard avg.count == g.config.styleDim else {
                throw ModelLoadError("\(path): 'latent_avg' has shape \(avg.shape), expected [\(g.config.styleDim)]")
            }
            let t = Tensor.zeros([1, g.config.styleDim])
            avg.copyFloats(into: t.pointer)
            g.latentAverage = t
        }
        return g
    }

    /// Every entry (parameters and buffers) as float32 arrays, in the original state-dict order and with
    /// the original names, for the checkpoint writer.
    public func stateDict() -> [(String, ArrayData)] {
        entryNames.map { name in
            let t = parameters[name] ?? buffers[name]!
            return (name, ArrayData(shape: t.shape, floats: t.array))
        }
    }
}
