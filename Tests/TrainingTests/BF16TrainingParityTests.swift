import Engine
import Formats
import Models
import XCTest
@testable import Engine
@testable import Training

/// Issue 17's condition for `--precision bf16`: the three replayed training steps of the official code
/// (../shared/reference/nada_train, as `NADATrainingParityTests`) with every product in bf16 (the tiny models'
/// products are all below the size rule, so it is forced) keep the update's cosine to the reference ≥ 0.99.
extension NADATrainingParityTests {
    func testThreeStepsInBF16KeepTheUpdateDirection() throws {
        try XCTSkipUnless(Precision.cpuHasBF16, "this CPU has no AVX512-BF16: --precision bf16 runs fp32 here")
        let trainer = try makeTrainer(phase: .standard)
        let trainableNames = try (TrainingFixtures.json("nada_train/trainable.json")["trainable"] as! [String])
        let base = flat(trainer.trainable.parameters.mapValues { $0.copy() }, trainableNames)
        let refLosses = try TrainingFixtures.tensor("nada_train/losses_negnoise.npy").array

        Precision.everyProduct = true
        defer { Precision.everyProduct = false }
        var losses: [Float] = []
        try Precision.with(.bf16) { for _ in 0..<3 { losses.append(try trainer.step().loss) } }

        let file = "after_step3_negnoise.pt"
        let w = Weights(try loadFile(TrainingFixtures.url("nada_train/\(file)").path).stateDict("g_ema"), source: file)
        let ref3 = Dictionary(uniqueKeysWithValues: try w.names.map { ($0, try w.tensor($0)) })
        let ours = zip(flat(trainer.trainable.parameters, trainableNames), base).map { $0 - $1 }
        let theirs = zip(flat(ref3, trainableNames), base).map { $0 - $1 }
        let cos = cosine(ours, theirs)
        XCTAssertGreaterThanOrEqual(cos, 0.99, "update cosine after 3 bf16 steps")
        for (i, (l, r)) in zip(losses, refLosses).enumerated() {
            XCTAssertEqual(l, r, accuracy: 1e-2 * abs(r), "loss at iteration \(i + 1)")
        }
        print("bf16 training: update cosine after 3 steps \(cos); losses \(losses) vs reference \(Array(refLosses.prefix(3)))")
    }
}
