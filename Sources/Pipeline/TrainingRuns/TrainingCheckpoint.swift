import Engine
import Formats
import Foundation
import Models
import Training

/// The resumable state of a run, saved as a PyTorch zip checkpoint that the reference code can also read:
/// `{"g_ema": trainable state dict, "nada_resume": {iteration, rng_state, history, options, adam: {name: {step,
/// exp_avg, exp_avg_sq}}}}`. Everything needed to continue bit-exactly is in it. A StyleGAN3 run holds its
/// trained tensors as `StyleGAN3DomainFile` does (`stylegan3_base`, `stylegan3_trained`) instead of `g_ema`.
public enum TrainingCheckpoint {
    public static let fileName = "checkpoint.pt"

    /// The trainable generator as a file: StyleGAN2 as rosinality `{"g_ema": …}` (an NVlabs base keeps its
    /// `nvlabs_options`), StyleGAN3 as a `StyleGAN3DomainFile`; `extra` entries come after the generator's.
    public static func writeGenerator(_ trainer: NADATrainer, extra: [(String, PyValue)] = [], to path: String) throws {
        switch trainer.trainable {
        case let g as StyleGAN2Generator:
            try writeGeneratorCheckpoint(gEma: g.stateDict().map { (name: $0.0, array: $0.1) },
                                         extra: extra + (g.nvlabsOptionsEntry.map { [$0] } ?? []), to: path)
        case let g as StyleGAN3Generator:
            try StyleGAN3DomainFile.write(g, names: trainer.savedParameterNames, extra: extra, to: path)
        default:
            throw TrainingError("\(path): cannot save a \(trainer.trainable.familyName) generator")
        }
    }

    static func array(_ values: [Float], shape: [Int]) -> PyValue { .tensor(ArrayData(shape: shape, floats: values)) }

    public static func save(_ trainer: NADATrainer, to path: String) throws {
        let state = trainer.resumeState
        var adam: [(key: PyValue, value: PyValue)] = []
        for name in trainer.savedParameterNames {
            guard let s = state.adam[name] else { continue }
            let shape = trainer.trainable.parameters[name]!.shape
            adam.append((.string(name), .dict([
                (.string("step"), .int(s.step)),
                (.string("exp_avg"), array(s.m, shape: shape)),
                (.string("exp_avg_sq"), array(s.v, shape: shape)),
            ])))
        }
        let options = String(decoding: try JSONEncoder().encode(trainer.options), as: UTF8.self)
        let resume: PyValue = .dict([
            (.string("iteration"), .int(state.iteration)),
            // UInt64 bit pattern stored as a signed Python int.
            (.string("rng_state"), .int(Int(Int64(bitPattern: state.rngState)))),
            (.string("history"), array(state.history, shape: [state.history.count])),
            (.string("options"), .string(options)),
            (.string("adam"), .dict(adam)),
        ])
        try writeGenerator(trainer, extra: [("nada_resume", resume)], to: path)
    }

    /// Restores weights, optimiser and counters into a trainer built with the same options.
    public static func restore(_ trainer: NADATrainer, from path: String) throws {
        let file = try loadFile(path)
        guard let resume = file.root["nada_resume"] else {
            throw TrainingError("\(path) has no 'nada_resume' entry: it is not a resumable nada-edit checkpoint")
        }
        let saved = try resume["options"]?.string.map { try JSONDecoder().decode(TrainingOptions.self, from: Data($0.utf8)) }
        var mine = trainer.options, theirs = saved ?? mine
        mine.iterations = 0; theirs.iterations = 0
        guard mine == theirs else {
            throw TrainingError("\(path) was made with different training options; resume with the same flags (only --iterations may change)")
        }
        let key = trainer.trainable is StyleGAN3Generator ? StyleGAN3DomainFile.trainedKey : "g_ema"
        guard file.root[key] != nil else {
            throw TrainingError("\(path) holds no '\(key)' entry: it was not written by a \(trainer.trainable.familyName) run; resume with the generator it was made from")
        }
        let weights = Weights(try file.stateDict(key), source: path)
        for name in trainer.savedParameterNames {
            let t = try weights.tensor(name, shape: trainer.trainable.parameters[name]!.shape)
            trainer.trainable.parameters[name]!.withMutableValues { dst in
                for i in 0..<dst.count { dst[i] = t.pointer[i] }
            }
        }
        var adam: [String: Adam.State] = [:]
        if case .dict(let items)? = resume["adam"] {
            for item in items {
                guard let name = item.key.string, let step = item.value["step"]?.int,
                      let m = item.value["exp_avg"]?.tensor, let v = item.value["exp_avg_sq"]?.tensor else {
                    throw TrainingError("\(path): damaged optimiser state")
                }
                adam[name] = Adam.State(step: step, m: m.floats(), v: v.floats())
            }
        }
        guard let iteration = resume["iteration"]?.int, let rng = resume["rng_state"]?.int,
              let history = resume["history"]?.tensor else {
            throw TrainingError("\(path): damaged resume state (iteration, rng_state or history missing)")
        }
        trainer.restore(NADATrainer.ResumeState(iteration: iteration, rngState: UInt64(bitPattern: Int64(rng)),
                                                history: history.floats(), adam: adam))
    }
}
