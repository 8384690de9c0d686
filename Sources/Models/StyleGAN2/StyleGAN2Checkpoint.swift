import Engine
import Formats

/// A generator from a loaded checkpoint, and its state dict for saving. (Reading the file is Formats' job and
/// choosing it Pipeline's `ModelResolver`: a model never opens files.)
extension StyleGAN2Generator {
    /// `g_ema` of a PyTorch checkpoint (zip or legacy) or any file `loadFile` reads, plus the top-level
    /// `latent_avg` when present (TF-converted files carry it); the EMA generator of an NVlabs pickle
    /// (`G_ema`, or `Gs` of a TensorFlow one).
    public convenience init(checkpoint file: LoadedFile) throws {
        let path = file.path
        if file.format == .nvlabsPickle {
            try self.init(nvlabs: file)
            return
        }
        if file.format == .tfNetworkPickle {
            try self.init(tensorflow: file)
            return
        }
        guard file.root["g_ema"] != nil else {
            let keys = file.topLevelKeys
            throw ModelLoadError("\(path): no 'g_ema' entry, so this is not a StyleGAN2 generator checkpoint "
                + "(top-level keys: \(keys.isEmpty ? "none" : keys.joined(separator: ", ")))")
        }
        // Written by `models convert` / training from an NVlabs generator (`nvlabsOptionsEntry`).
        let options = file.root["nvlabs_options"]
        let lrMLP = options?["lr_mlp"]?.double.map(Float.init) ?? 0.01
        try self.init(stateDict: try file.stateDict("g_ema"), source: path, lrMLP: lrMLP)
        convClamp = options?["conv_clamp"]?.double.map(Float.init)
        if let avg = file.root["latent_avg"]?.tensor {
            guard avg.count == config.styleDim else {
                throw ModelLoadError("\(path): 'latent_avg' has shape \(avg.shape), expected [\(config.styleDim)]")
            }
            let t = Tensor.zeros([1, config.styleDim])
            avg.copyFloats(into: t.pointer)
            latentAverage = t
        }
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
