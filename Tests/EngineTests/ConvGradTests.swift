import XCTest
@testable import Engine

/// Finite-difference gradient checks for conv2d, convTranspose2d, upfirdn2d and the channel ops, on tiny
/// odd-sized shapes over several stride / padding / groups / up / down / pad combinations.
final class ConvGradTests: XCTestCase {
    let tolerance = 3e-3

    func rand(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = SeededRandom(seed: seed)
        return Tensor.randn(shape, using: &rng)
    }

    /// Checks d/d(inputs) of sum(f() · r) for a fixed random r (so every output element matters).
    func assertGrad(_ inputs: [Tensor], _ f: @escaping () -> Tensor, file: StaticString = #filePath, line: UInt = #line) {
        let probe = Autograd.noGrad { f() }
        let r = rand(probe.shape, seed: 99)
        let result = GradientCheck.check(inputs, maxElements: 48) { (f() * r).sum() }
        XCTAssertLessThan(result.maxError, tolerance, result.description, file: file, line: line)
    }

    func testConv2dGradients() {
        let configs: [(c: Int, o: Int, k: Int, stride: Int, padding: Int, groups: Int, h: Int, w: Int)] = [
            (3, 4, 3, 1, 1, 1, 5, 6), (4, 6, 3, 2, 1, 2, 7, 5), (2, 3, 1, 1, 0, 1, 3, 4),
            (4, 4, 3, 2, 0, 4, 6, 7), (3, 2, 2, 3, 2, 1, 5, 5), (2, 2, 1, 2, 1, 2, 5, 4),
        ]
        for (i, cf) in configs.enumerated() {
            let x = rand([2, cf.c, cf.h, cf.w], seed: UInt64(10 + i))
            let w = rand([cf.o, cf.c / cf.groups, cf.k, cf.k], seed: UInt64(20 + i))
            let b = rand([cf.o], seed: UInt64(30 + i))
            assertGrad([x, w, b]) { x.conv2d(weight: w, bias: b, stride: cf.stride, padding: cf.padding, groups: cf.groups) }
        }
    }

    func testConvTranspose2dGradients() {
        let configs: [(c: Int, o: Int, k: Int, stride: Int, padding: Int, groups: Int, h: Int, w: Int)] = [
            (3, 2, 3, 2, 0, 1, 3, 4), (4, 6, 3, 2, 1, 2, 4, 3), (2, 3, 1, 1, 0, 1, 3, 5),
            (4, 4, 4, 2, 1, 4, 3, 3), (3, 2, 2, 1, 0, 1, 2, 5),
        ]
        for (i, cf) in configs.enumerated() {
            let x = rand([2, cf.c, cf.h, cf.w], seed: UInt64(40 + i))
            let w = rand([cf.c, cf.o / cf.groups, cf.k, cf.k], seed: UInt64(50 + i))
            let b = rand([cf.o], seed: UInt64(60 + i))
            assertGrad([x, w, b]) { x.convTranspose2d(weight: w, bias: b, stride: cf.stride, padding: cf.padding, groups: cf.groups) }
        }
    }

    /// convTranspose2d is the adjoint of conv2d: <conv(x), y> = <x, convT(y)> with the same weight.
    func testConvTransposeIsAdjointOfConv() {
        let x = rand([1, 4, 7, 7], seed: 70), w = rand([6, 2, 3, 3], seed: 71)
        let y = Autograd.noGrad { x.conv2d(weight: w, stride: 2, padding: 1, groups: 2) }
        let z = rand(y.shape, seed: 72)
        let back = Autograd.noGrad { z.convTranspose2d(weight: w, stride: 2, padding: 1, groups: 2) }
        XCTAssertEqual(back.shape, x.shape)
        let lhs = zip(y.array, z.array).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        let rhs = zip(x.array, back.array).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        XCTAssertEqual(lhs, rhs, accuracy: 1e-4 * max(1, Swift.abs(lhs)))
    }

    func testUpFirDn2dGradients() {
        let k1: [Float] = [1, 3, 3, 1]
        let separable = Tensor(shape: [4, 4], values: (0..<16).map { k1[$0 / 4] * k1[$0 % 4] / 16 })
        let general = rand([3, 2], seed: 80)
        let configs: [(Tensor, Int, Int, (Int, Int, Int, Int), [Int])] = [
            (separable, 2, 1, (2, 1, 2, 1), [1, 2, 4, 5]), (separable, 1, 1, (1, 1, 1, 1), [2, 1, 5, 3]),
            (separable, 1, 2, (2, 2, 1, 2), [1, 1, 7, 6]), (general, 2, 2, (1, -1, 0, 2), [1, 2, 5, 4]),
            (general, 3, 1, (-2, 0, 1, 1), [1, 1, 3, 4]), (general, 1, 3, (0, 0, 0, 0), [1, 1, 7, 5]),
        ]
        for (i, (k, up, down, pad, shape)) in configs.enumerated() {
            let x = rand(shape, seed: UInt64(90 + i))
            assertGrad([x]) { x.upfirdn2d(kernel: k, up: up, down: down, pad: pad) }
        }
    }

    /// A single large plane is split by rows across threads; many planes go one per thread. Same numbers.
    func testUpFirDn2dPlaneSplittingGivesSameResults() {
        let k1: [Float] = [1, 3, 3, 1]
        let k = Tensor(shape: [4, 4], values: (0..<16).map { k1[$0 / 4] * k1[$0 % 4] / 16 })
        let one = rand([1, 1, 101, 99], seed: 140)
        let many = Tensor.concat(Array(repeating: one, count: 8), axis: 0)
        let saved = Threads.count
        defer { Threads.set(saved) }
        Threads.set(2)
        for t in [one, many] { t.requiresGrad = true }
        let a = one.upfirdn2d(kernel: k, up: 2, pad: (2, 1, 2, 1)), b = many.upfirdn2d(kernel: k, up: 2, pad: (2, 1, 2, 1))
        XCTAssertEqual(a.array, Array(b.array.prefix(a.count)))
        XCTAssertEqual(a.array, Array(b.array.suffix(a.count)))
        let ga = Autograd.gradients(of: (a * a).sum(), wrt: [one])[0]!, gb = Autograd.gradients(of: (b * b).sum(), wrt: [many])[0]!
        XCTAssertEqual(ga.array, Array(gb.array.suffix(ga.count)))
    }

    /// The two-pass (rank-1) path and the general path compute the same thing.
    func testUpFirDn2dSeparableMatchesGeneral() {
        let k1: [Float] = [1, 3, 3, 1]
        let k = Tensor(shape: [4, 4], values: (0..<16).map { k1[$0 / 4] * k1[$0 % 4] / 16 })
        XCTAssertNotNil(FIRKernel(k).separable)
        // Perturb one tap by a tiny amount: no longer rank 1, numerically almost the same kernel.
        var vals = k.array; vals[5] += 1e-3
        let nearly = Tensor(shape: [4, 4], values: vals)
        XCTAssertNil(FIRKernel(nearly).separable)
        let x = rand([1, 2, 6, 5], seed: 100)
        let a = x.upfirdn2d(kernel: k, up: 2, pad: (2, 1, 2, 1)), b = x.upfirdn2d(kernel: nearly, up: 2, pad: (2, 1, 2, 1))
        XCTAssertEqual(a.shape, [1, 2, 12, 10])
        let err = zip(a.array, b.array).map { Swift.abs($0 - $1) }.max()!
        XCTAssertLessThan(err, 1e-2)
        XCTAssertGreaterThan(err, 0)
    }

    func testChannelOpGradients() {
        let x = rand([2, 3, 4, 5], seed: 110), b = rand([3], seed: 111), s = rand([2, 3], seed: 112)
        assertGrad([x, b]) { x.addingChannelBias(b) }
        assertGrad([x, s]) { x.scaledPerChannel(s) }
        let v = rand([2, 3], seed: 113)
        assertGrad([v, b]) { v.addingChannelBias(b) }
        let y = x.addingChannelBias(b)
        XCTAssertEqual(y.array[1 * 20 + 7], x.array[1 * 20 + 7] + b.array[1])
        let z = x.scaledPerChannel(s)
        XCTAssertEqual(z.array[(1 * 3 + 2) * 20 + 3], x.array[(1 * 3 + 2) * 20 + 3] * s.array[1 * 3 + 2])
    }

    /// Results are bit-identical with one and two threads (forward and all gradients).
    func testThreadCountDoesNotChangeResults() {
        let x = rand([2, 4, 9, 8], seed: 120), w = rand([6, 2, 3, 3], seed: 121), b = rand([6], seed: 122)
        for t in [x, w, b] { t.requiresGrad = true }
        let k1: [Float] = [1, 3, 3, 1]
        let k = Tensor(shape: [4, 4], values: (0..<16).map { k1[$0 / 4] * k1[$0 % 4] / 16 })
        func run() -> [[Float]] {
            let out = x.conv2d(weight: w, bias: b, padding: 1, groups: 2).upfirdn2d(kernel: k, up: 2, pad: (2, 1, 2, 1))
            let t = out.convTranspose2d(weight: rand([6, 3, 3, 3], seed: 123), stride: 2)
            let grads = Autograd.gradients(of: (t * t).sum(), wrt: [x, w, b])
            return [t.array] + grads.map { $0!.array }
        }
        let saved = Threads.count
        defer { Threads.set(saved) }
        Threads.set(1)
        let one = run()
        Threads.set(2)
        let two = run()
        XCTAssertEqual(one, two)
    }

    /// Splitting the output into bands of rows (for bounded column buffers) changes nothing.
    func testBandsGiveSameResults() {
        let x = rand([1, 3, 9, 7], seed: 130), w = rand([4, 3, 3, 3], seed: 131), wt = rand([3, 2, 3, 3], seed: 132)
        for t in [x, w, wt] { t.requiresGrad = true }
        func run(_ plan: ConvPlan) -> [[Float]] {
            let a = x.conv2d(weight: w, stride: 2, padding: 1, plan: plan)
            let c = x.convTranspose2d(weight: wt, stride: 2, padding: 1, plan: plan)
            let grads = Autograd.gradients(of: (a * a).sum() + (c * c).sum(), wrt: [x, w, wt])
            return [a.array, c.array] + grads.map { $0!.array }
        }
        let whole = run(.machine)
        let banded = run(ConvPlan(im2colBandBudget: 1)) // one output row per band
        XCTAssertEqual(whole.count, banded.count)
        for (u, v) in zip(whole, banded) {
            XCTAssertEqual(u.count, v.count)
            // Weight gradients sum over bands in a different order: float rounding only.
            let scale = max(1, u.map { Swift.abs($0) }.max()!)
            XCTAssertLessThan(zip(u, v).map { Swift.abs($0 - $1) }.max()!, 2e-6 * scale)
        }
    }
}

/// Bad shapes are reported as ShapeErrors naming the op and the problem.
final class ConvShapeTests: XCTestCase {
    func assertShapeError(_ body: () throws -> Any, contains text: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains(text), "message \"\(error)\" lacks \"\(text)\"", file: file, line: line)
        }
    }

    func testConvShapes() throws {
        XCTAssertEqual(try ConvShapes.conv2d(input: [2, 4, 7, 6], weight: [6, 2, 3, 3], stride: 2, padding: 1, groups: 2), [2, 6, 4, 3])
        assertShapeError({ try ConvShapes.conv2d(input: [2, 4, 7], weight: [6, 4, 3, 3]) }, contains: "[N, C, H, W]")
        assertShapeError({ try ConvShapes.conv2d(input: [2, 4, 7, 7], weight: [6, 4, 3, 3], groups: 2) }, contains: "groups = 2")
        assertShapeError({ try ConvShapes.conv2d(input: [2, 4, 7, 7], weight: [6, 4, 3, 3], bias: [4]) }, contains: "bias [4]")
        assertShapeError({ try ConvShapes.conv2d(input: [1, 1, 2, 2], weight: [1, 1, 3, 3]) }, contains: "does not fit")
        assertShapeError({ try ConvShapes.conv2d(input: [1, 1, 5, 5], weight: [1, 1, 3, 3], stride: 0) }, contains: "stride >= 1")
        XCTAssertEqual(try ConvShapes.convTranspose2d(input: [1, 4, 4, 5], weight: [4, 3, 3, 3], stride: 2), [1, 3, 9, 11])
        assertShapeError({ try ConvShapes.convTranspose2d(input: [1, 4, 4, 5], weight: [3, 3, 3, 3]) }, contains: "[C, O/groups, kh, kw]")
        assertShapeError({ try ConvShapes.convTranspose2d(input: [1, 1, 1, 1], weight: [1, 1, 1, 1], padding: 1) }, contains: "leaves no output")
    }

    func testUpFirDnAndChannelShapes() throws {
        XCTAssertEqual(try ConvShapes.upfirdn2d(input: [1, 3, 8, 8], kernel: [4, 4], up: 2, down: 1, pad: (2, 1, 2, 1)), [1, 3, 16, 16])
        XCTAssertEqual(try ConvShapes.upfirdn2d(input: [1, 3, 9, 8], kernel: [4, 4], up: 1, down: 2, pad: (1, 1, 1, 1)), [1, 3, 4, 4])
        assertShapeError({ try ConvShapes.upfirdn2d(input: [1, 3, 8, 8], kernel: [4], up: 2, down: 1, pad: (2, 1, 2, 1)) }, contains: "kernel")
        assertShapeError({ try ConvShapes.upfirdn2d(input: [1, 3, 2, 2], kernel: [4, 4], up: 1, down: 1, pad: (-1, 0, 0, 0)) }, contains: "leaves no output")
        assertShapeError({ try ConvShapes.upfirdn2d(input: [1, 3, 8, 8], kernel: [4, 4], up: 0, down: 1, pad: (0, 0, 0, 0)) }, contains: "up and down")
        XCTAssertNoThrow(try ConvShapes.channelBias(input: [2, 3, 4, 4], bias: [3]))
        assertShapeError({ try ConvShapes.channelBias(input: [2, 3, 4, 4], bias: [2]) }, contains: "bias [2]")
        assertShapeError({ try ConvShapes.channelScale(input: [2, 3, 4, 4], scale: [3, 2]) }, contains: "expected [2, 3]")
    }
}
