import Foundation
import XCTest
@testable import Engine

/// `ConvPlan`: the kernel copy rule, the per-call decisions, and plans as plain values (two plans used
/// at once on two threads each get their own kernels).
final class ConvPlanTests: XCTestCase {
    func rand(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = SeededRandom(seed: seed)
        return Tensor.randn(shape, using: &rng)
    }

    func testKernelCopyRule() {
        XCTAssertEqual(ConvPlan.choose(cpuHasAVX2: true, kernelsVariable: nil), .avx2)
        XCTAssertEqual(ConvPlan.choose(cpuHasAVX2: true, kernelsVariable: "generic"), .generic)
        XCTAssertEqual(ConvPlan.choose(cpuHasAVX2: true, kernelsVariable: "avx2"), .avx2, "only `generic` changes the choice")
        XCTAssertEqual(ConvPlan.choose(cpuHasAVX2: false, kernelsVariable: nil), .generic)
        // A plan never names a copy the CPU cannot run.
        XCTAssertEqual(ConvPlan(isa: .avx2).isa, ConvPlan.cpuHasAVX2 ? .avx2 : .generic)
        XCTAssertEqual(ConvPlan(isa: .generic).isa, .generic)
        XCTAssertEqual(ConvPlan.machine.with(isa: .generic).isa, .generic)
        XCTAssertEqual(ConvPlan.machine.isa, ConvPlan.machineISA)
    }

    /// The thresholds the comments measure, and where each decision flips.
    func testDecisions() {
        let plan = ConvPlan.machine
        XCTAssertEqual(plan.fusedWinogradMaxChannels, 128)
        XCTAssertEqual(plan.fusedPolyphaseMaxChannels, 128)
        XCTAssertEqual(plan.winogradBlockBudget, 1 << 22)
        XCTAssertEqual(plan.im2colBandBudget, 1 << 22)
        XCTAssertEqual(plan.phaseFilterMaxChannels, 0)
        XCTAssertTrue(plan.usesFusedWinograd(channels: 128, outChannels: 128, groups: 1))
        XCTAssertFalse(plan.usesFusedWinograd(channels: 256, outChannels: 128, groups: 1))
        XCTAssertFalse(plan.usesFusedWinograd(channels: 64, outChannels: 64, groups: 2))
        XCTAssertTrue(plan.usesFusedPolyphase(channels: 128, outChannels: 64))
        XCTAssertFalse(plan.usesFusedPolyphase(channels: 64, outChannels: 256))
        XCTAssertFalse(ConvPlan(fusedWinogradMaxChannels: 0).usesFusedWinograd(channels: 8, outChannels: 8, groups: 1))
        // 16 tiles of 4×4 at least: 13×13 output with padding 1 has 16; 12×12 has 9.
        XCTAssertTrue(plan.usesWinograd(input: [1, 8, 13, 13], weight: [8, 8, 3, 3], stride: 1, padding: 1, groups: 1))
        XCTAssertFalse(plan.usesWinograd(input: [1, 8, 12, 12], weight: [8, 8, 3, 3], stride: 1, padding: 1, groups: 1))
        XCTAssertTrue(plan.usesPolyphaseWinograd(input: [1, 8, 12, 12], weight: [8, 8, 3, 3]))
        XCTAssertFalse(ConvPlan(winograd: false).usesPolyphaseWinograd(input: [1, 8, 12, 12], weight: [8, 8, 3, 3]))
        XCTAssertFalse(plan.usesPhaseFilters(inChannels: 1))
        XCTAssertTrue(ConvPlan(phaseFilterMaxChannels: .max).usesPhaseFilters(inChannels: 512))
        // Block and band sizes: the budget, with their floors of 8 tiles and one row.
        XCTAssertEqual(plan.winogradTilesPerBlock(points: 36, channels: 512, outChannels: 512), (1 << 22) / (36 * 1024))
        XCTAssertEqual(ConvPlan(winogradBlockBudget: 1).winogradTilesPerBlock(points: 36, channels: 8, outChannels: 8), 8)
        let geo = ConvGeometry(channels: 3, height: 9, width: 7, kh: 3, kw: 3, stride: 1, padding: 1)
        XCTAssertEqual(plan.im2colRowsPerBand(geo), 9)
        XCTAssertEqual(ConvPlan(im2colBandBudget: 1).im2colRowsPerBand(geo), 1)
    }

    /// Two threads convolve at once, one with the machine plan and one with im2col on the generic copy:
    /// each gets exactly its serial result (nothing process-wide is switched), and the two paths differ
    /// in rounding only.
    func testPlansAreIndependentAcrossThreads() {
        let x = rand([1, 16, 24, 25], seed: 1), w = rand([16, 16, 3, 3], seed: 2)
        let im2col = ConvPlan(isa: .generic, winograd: false)
        let serialMachine = x.conv2d(weight: w, padding: 1).array
        let serialIm2col = x.conv2d(weight: w, padding: 1, plan: im2col).array
        XCTAssertNotEqual(serialMachine, serialIm2col, "Winograd and im2col round differently")
        let scale = serialIm2col.map { Swift.abs($0) }.max()!
        XCTAssertLessThan(zip(serialMachine, serialIm2col).map { Swift.abs($0 - $1) }.max()!, 2e-5 * max(1, scale))
        final class Results: @unchecked Sendable { var machine: [[Float]] = [], im2col: [[Float]] = [] }
        let results = Results()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            for _ in 0..<10 { results.machine.append(x.conv2d(weight: w, padding: 1).array) }
        }
        DispatchQueue.global().async(group: group) {
            for _ in 0..<10 { results.im2col.append(x.conv2d(weight: w, padding: 1, plan: im2col).array) }
        }
        group.wait()
        XCTAssertEqual(results.machine, Array(repeating: serialMachine, count: 10))
        XCTAssertEqual(results.im2col, Array(repeating: serialIm2col, count: 10))
    }
}
