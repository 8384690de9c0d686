import Engine
import Formats
@testable import Models
import XCTest

/// Latent directions (issue 15) against numpy re-computations made by tools/make_direction_fixtures.py.
final class DirectionsTests: XCTestCase {
    func maxAbsDiff(_ a: Tensor, _ b: Tensor) -> Float {
        XCTAssertEqual(a.shape, b.shape)
        var m: Float = 0
        for i in 0..<min(a.count, b.count) { m = max(m, abs(a.pointer[i] - b.pointer[i])) }
        return m
    }

    func referenceGenerator() throws -> StyleGAN2Generator {
        try StyleGAN2Generator(checkpoint: try loadFile(Fixtures.path("stylegan2/generator.pt")))
    }

    // MARK: eigen solver

    func testSymmetricEigenDecomposesRandomMatrices() {
        var rng = SeededRandom(seed: 7)
        for n in [1, 2, 5, 33] {
            let r = Tensor.randn([n, n], using: &rng).array.map(Double.init)
            var a = [Double](repeating: 0, count: n * n)
            for i in 0..<n { for j in 0..<n { a[i * n + j] = r[i * n + j] + r[j * n + i] } }
            let e = SymmetricEigen(symmetric: a, n: n)
            for i in 0..<n {
                if i > 0 { XCTAssertGreaterThanOrEqual(e.values[i - 1], e.values[i], "n=\(n): eigenvalues not sorted") }
                let v = Array(e.vectors[(i * n)..<((i + 1) * n)])
                XCTAssertEqual(v.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-12, "n=\(n): vector \(i) not unit")
                for row in 0..<n {        // A v = λ v
                    var av = 0.0
                    for k in 0..<n { av += a[row * n + k] * v[k] }
                    XCTAssertEqual(av, e.values[i] * v[row], accuracy: 1e-10, "n=\(n): A·v ≠ λ·v for vector \(i)")
                }
                for j in 0..<i {
                    let dot = zip(v, e.vectors[(j * n)..<((j + 1) * n)]).reduce(0) { $0 + $1.0 * $1.1 }
                    XCTAssertEqual(dot, 0, accuracy: 1e-10, "n=\(n): vectors \(i) and \(j) not orthogonal")
                }
            }
        }
    }

    func testSymmetricEigenHandlesRepeatedAndZeroEigenvalues() {
        // diag(3, 0, 3, 1): distinct rows must still come out orthonormal.
        let n = 4
        var a = [Double](repeating: 0, count: 16)
        for (i, v) in [3.0, 0, 3, 1].enumerated() { a[i * n + i] = v }
        let e = SymmetricEigen(symmetric: a, n: n)
        XCTAssertEqual(e.values, [3, 3, 1, 0])
        XCTAssertEqual(e.vectors[12..<16].map(abs), [0, 1, 0, 0])
    }

    // MARK: SeFa

    func testSeFaWeightMatrixFollowsRosinalitysSelection() throws {
        let g = try referenceGenerator()
        let (rows, values) = g.sefaWeightMatrix()
        // conv1, to_rgb1 (its name has no "to_rgbs") and every convs.k; never to_rgbs.k.
        let picked = g.parameterNames.filter { $0.contains("modulation.weight") && !$0.hasPrefix("to_rgbs.") }
        XCTAssertTrue(picked.contains("to_rgb1.conv.modulation.weight"))
        XCTAssertEqual(rows, picked.reduce(0) { $0 + g.parameters[$1]!.shape[0] })
        XCTAssertEqual(values.count, rows * g.config.styleDim)
        XCTAssertEqual(rows, 288, "the numpy reference stacked 288 rows")
    }

    func testSeFaComponentsMatchNumpySVD() throws {
        let g = try referenceGenerator()
        let ours = g.sefaComponents()
        let reference = try Fixtures.tensor("directions/sefa_components.npy")
        XCTAssertEqual(ours.shape, [64, 64])
        let d = 64
        for i in 0..<d {
            var worst: Float = 0
            for j in 0..<d { worst = max(worst, abs(ours.pointer[i * d + j] - reference.pointer[i * d + j])) }
            XCTAssertLessThanOrEqual(worst, 1e-5, "SeFa component \(i) differs from numpy's right singular vector by \(worst)")
        }
        // Sign rule: each row's largest-magnitude entry is positive.
        for i in 0..<d {
            let row = (0..<d).map { ours.pointer[i * d + $0] }
            XCTAssertGreaterThan(row.max { abs($0) < abs($1) }!, 0)
        }
        XCTAssertEqual(g.sefaComponents(count: 5).shape, [5, 64])
    }

    // MARK: InterFaceGAN

    func interfaceGANDirection() throws -> LatentDirection {
        let d = try Fixtures.tensor("directions/interfacegan_direction.npy")
        return try LatentDirection(values: d.array, styleDim: 64)
    }

    func testInterFaceGANShiftMatchesE4EFormula() throws {
        let codes = try Fixtures.tensor("stylegan2/wplus.npy")
        let direction = try interfaceGANDirection()
        let all = try codes.applyingLatentEdits([.shift(direction, amount: 2.5, rows: .all)])
        XCTAssertLessThanOrEqual(maxAbsDiff(all, try Fixtures.tensor("directions/interfacegan_all_2.5.npy")), 1e-6)
        let some = try codes.applyingLatentEdits([.shift(direction, amount: -3, rows: LatentRows(start: 2, end: 5))])
        XCTAssertLessThanOrEqual(maxAbsDiff(some, try Fixtures.tensor("directions/interfacegan_rows2-5_-3.npy")), 1e-6)
        // Python slice semantics: [-8:-5] of 10 rows is 2:5.
        let negative = try codes.applyingLatentEdits([.shift(direction, amount: -3, rows: LatentRows(start: -8, end: -5))])
        XCTAssertEqual(maxAbsDiff(negative, some), 0)
        // The input codes are not modified.
        XCTAssertEqual(maxAbsDiff(codes, try Fixtures.tensor("stylegan2/wplus.npy")), 0)
    }

    // MARK: GANSpace

    func pca() throws -> GANSpacePCA {
        try GANSpacePCA(components: try Fixtures.tensor("directions/ganspace_comp.npy").array,
                        std: try Fixtures.tensor("directions/ganspace_std.npy").array,
                        mean: try Fixtures.tensor("directions/ganspace_mean.npy").array)
    }

    func testGANSpaceEditMatchesE4EFormula() throws {
        let codes = try Fixtures.tensor("stylegan2/wplus.npy")
        let pca = try pca()
        let first = try codes.applyingLatentEdits([.ganspace(pca, component: 3, amount: 2.5, rows: LatentRows(start: 0, end: 4))])
        XCTAssertLessThanOrEqual(maxAbsDiff(first, try Fixtures.tensor("directions/ganspace_k3_rows0-4_2.5.npy")), 1e-6)
        let second = try codes.applyingLatentEdits([.ganspace(pca, component: 5, amount: -1.5, rows: LatentRows(start: 2, end: 7))])
        XCTAssertLessThanOrEqual(maxAbsDiff(second, try Fixtures.tensor("directions/ganspace_k5_rows2-7_-1.5.npy")), 1e-6)
        let both = try codes.applyingLatentEdits([.ganspace(pca, component: 3, amount: 2.5, rows: LatentRows(start: 0, end: 4)),
                                                  .ganspace(pca, component: 5, amount: -1.5, rows: LatentRows(start: 2, end: 7))])
        XCTAssertLessThanOrEqual(maxAbsDiff(both, try Fixtures.tensor("directions/ganspace_k3_then_k5.npy")), 1e-6)
    }

    func testGANSpaceSetsTheCoordinateOnRowZero() throws {
        // After the edit, row 0's coordinate along k is the amount (when row 0 is among the edited rows).
        let codes = try Fixtures.tensor("stylegan2/wplus.npy")
        let pca = try pca()
        let edited = try codes.applyingLatentEdits([.ganspace(pca, component: 2, amount: 4, rows: .all)])
        for sample in 0..<3 {
            let row0 = edited.pointer + sample * 10 * 64
            var dot = 0.0
            for j in 0..<64 { dot += Double(row0[j] - pca.mean[j]) * Double(pca.components[2 * 64 + j]) }
            XCTAssertEqual(dot / Double(pca.std[2]), 4, accuracy: 1e-4)
        }
    }

    func testBadEditsAreRejected() throws {
        let codes = try Fixtures.tensor("stylegan2/wplus.npy")
        let short = try LatentDirection(values: [Float](repeating: 1, count: 12), styleDim: 12)
        XCTAssertThrowsError(try codes.applyingLatentEdits([.shift(short, amount: 1, rows: .all)])) {
            XCTAssertTrue("\($0)".contains("12 values per row"), "\($0)")
        }
        let direction = try interfaceGANDirection()
        XCTAssertThrowsError(try codes.applyingLatentEdits([.shift(direction, amount: 1, rows: LatentRows(start: 5, end: 3))])) {
            XCTAssertTrue("\($0)".contains("5:3"), "\($0)")
        }
        XCTAssertThrowsError(try codes.applyingLatentEdits([.ganspace(try pca(), component: 8, amount: 1, rows: .all)])) {
            XCTAssertTrue("\($0)".contains("component 8"), "\($0)")
        }
        XCTAssertThrowsError(try LatentDirection(values: [.nan], styleDim: 1))
    }

    // MARK: blending

    func testBlendOfTwoDomainsAtHalfIsTheAveragedStateDict() throws {
        let base = try referenceGenerator()
        let config = base.config
        let a = StyleGAN2Generator(config: config, seed: 11), b = StyleGAN2Generator(config: config, seed: 12)
        let blend = try base.blended([(a, 0.5), (b, 0.5)])
        for name in base.parameterNames {
            let pa = a.parameters[name]!.pointer, pb = b.parameters[name]!.pointer, po = blend.parameters[name]!.pointer
            let p0 = base.parameters[name]!.pointer
            // base + ½(a − base) + ½(b − base) rounds differently from (a + b)/2 at the scale of the largest input.
            for i in 0..<base.parameters[name]!.count {
                XCTAssertEqual(po[i], (pa[i] + pb[i]) / 2, accuracy: 1e-6 * max(1, abs(pa[i]), abs(pb[i]), abs(p0[i])), name)
            }
        }
        // One domain at weight α is --strength α.
        let single = try base.blended([(a, 0.3)])
        let strength = try base.interpolated(toward: a, alpha: 0.3)
        for name in base.parameterNames {
            let x = single.parameters[name]!.pointer, y = strength.parameters[name]!.pointer
            for i in 0..<base.parameters[name]!.count {
                XCTAssertEqual(x[i], y[i], accuracy: 1e-6 * max(1, abs(y[i]), abs(base.parameters[name]!.pointer[i]), abs(a.parameters[name]!.pointer[i])), name)
            }
        }
        // Buffers stay the base's.
        XCTAssertEqual(maxAbsDiff(blend.buffers["noises.noise_0"]!, base.buffers["noises.noise_0"]!), 0)
    }
}
