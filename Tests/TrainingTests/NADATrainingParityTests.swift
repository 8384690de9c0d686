import Engine
import Formats
import Models
import XCTest
@testable import Training

/// Three replayed training steps against the official code (../shared/reference/nada_train, configuration B:
/// the trainable twin starts from generator.pt with its stored noise buffers negated, so the twins differ).
/// Tolerances are the pack's recommendations (README "Recommended tolerances"), justified there by the
/// float32-vs-float64 and thread-count noise floors against the bug table.
final class NADATrainingParityTests: XCTestCase {
    func makeTrainer(phase: TrainingPhase) throws -> NADATrainer {
        let path = TrainingFixtures.url("stylegan2/generator.pt").path
        let frozen = try StyleGAN2Generator(checkpoint: try loadFile(path))
        let trainable = try StyleGAN2Generator(checkpoint: try loadFile(path))
        for (name, t) in trainable.buffers where name.hasPrefix("noises.") {
            t.withMutableValues { v in for i in 0..<v.count { v[i] = -v[i] } }
        }
        var options = TrainingOptions()
        options.source = "photo"; options.target = "sketch"
        options.iterations = 3; options.batch = 2
        options.autoLayerIters = 0; options.phase = phase
        options.storedNoise = true
        let trainer = try NADATrainer(frozen: frozen, trainable: trainable, clip: [try TrainingFixtures.tinyCLIP()], options: options)
        trainer.replayLatents = try TrainingFixtures.tensor("nada_train/sample_latents.npy")
        return trainer
    }

    /// Trainable parameter values flattened in name order.
    func flat(_ values: [String: Tensor], _ names: [String]) -> [Double] {
        names.flatMap { values[$0]!.array.map(Double.init) }
    }

    func testThreeStepsMatchReference() throws {
        let trainer = try makeTrainer(phase: .standard)
        let start = trainer.trainable.parameters.mapValues { $0.copy() }
        let trainableNames = try (TrainingFixtures.json("nada_train/trainable.json")["trainable"] as! [String])
        let refLosses = try TrainingFixtures.tensor("nada_train/losses_negnoise.npy").array

        func reference(_ file: String) throws -> [String: Tensor] {
            let w = Weights(try loadFile(TrainingFixtures.url("nada_train/\(file)").path).stateDict("g_ema"), source: file)
            return Dictionary(uniqueKeysWithValues: try w.names.map { ($0, try w.tensor($0)) })
        }

        let r1 = try trainer.step()
        XCTAssertEqual(r1.loss, refLosses[0], accuracy: 1e-4 * abs(refLosses[0]), "loss at iteration 1")
        let ref1 = try reference("after_step1_negnoise.pt")
        let ours1 = flat(trainer.trainable.parameters, trainableNames), theirs1 = flat(ref1, trainableNames)
        let base = flat(start, trainableNames)
        let off = zip(ours1, theirs1).filter { abs($0 - $1) > 1e-4 }.count
        XCTAssertLessThanOrEqual(Double(off), 0.001 * Double(ours1.count), "elements off by > 1e-4 after step 1: \(off) of \(ours1.count)")
        XCTAssertGreaterThanOrEqual(cosine(zip(ours1, base).map { $0 - $1 }, zip(theirs1, base).map { $0 - $1 }), 0.995)

        let r2 = try trainer.step(), r3 = try trainer.step()
        XCTAssertEqual(r2.loss, refLosses[1], accuracy: 3e-4 * abs(refLosses[1]), "loss at iteration 2")
        XCTAssertEqual(r3.loss, refLosses[2], accuracy: 3e-4 * abs(refLosses[2]), "loss at iteration 3")
        let ref3 = try reference("after_step3_negnoise.pt")
        let ours = zip(flat(trainer.trainable.parameters, trainableNames), base).map { $0 - $1 }
        let theirs = zip(flat(ref3, trainableNames), base).map { $0 - $1 }
        let diff = zip(ours, theirs).map { $0 - $1 }
        XCTAssertLessThanOrEqual(norm(diff) / norm(theirs), 0.05, "relative L2 of the update after step 3")
        XCTAssertGreaterThanOrEqual(cosine(ours, theirs), 0.998, "update cosine after step 3")

        // Everything outside the trainable set (and every buffer) is untouched, bit for bit.
        for (name, t) in trainer.trainable.parameters where !trainableNames.contains(name) {
            XCTAssertEqual(t.array, start[name]!.array, "\(name) must not change")
            XCTAssertEqual(t.array, ref3[name]!.array, "\(name) must equal the reference")
        }
    }

    func testTexturePhaseLosses() throws {
        let trainer = try makeTrainer(phase: .texture)
        let ref = try TrainingFixtures.tensor("nada_train/losses_phase_negnoise.npy").array
        for i in 0..<3 {
            let r = try trainer.step()
            XCTAssertEqual(r.loss, ref[i], accuracy: (i == 0 ? 1e-4 : 3e-4) * abs(ref[i]), "texture loss at iteration \(i + 1)")
        }
        XCTAssertFalse(trainer.trainable.parameters["convs.0.conv.weight"]!.requiresGrad, "texture trains convs 2...")
    }

    func norm(_ v: [Double]) -> Double { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
    func cosine(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } / (norm(a) * norm(b)) }
}
