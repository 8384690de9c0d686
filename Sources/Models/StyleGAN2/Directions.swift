import Engine

/// W+ rows an edit touches, with Python slice semantics (`w[start:end]`, step 1): negative indices count from
/// the end, missing bounds mean the ends, out-of-range bounds are clamped.
public struct LatentRows: Equatable, Sendable, CustomStringConvertible {
    public var start: Int?
    public var end: Int?
    public init(start: Int? = nil, end: Int? = nil) { self.start = start; self.end = end }
    public static let all = LatentRows()

    /// The rows of `count` that `[start:end]` selects (possibly empty).
    public func resolved(count: Int) -> Range<Int> {
        func clamp(_ i: Int?, _ fallback: Int) -> Int {
            guard let i else { return fallback }
            return i < 0 ? max(0, count + i) : min(i, count)
        }
        let s = clamp(start, 0), e = clamp(end, count)
        return s < e ? s..<e : s..<s
    }

    /// `START:END` as the user wrote it (either side may be empty).
    public var description: String { "\(start.map(String.init) ?? ""):\(end.map(String.init) ?? "")" }
}

/// A direction in W to move codes along: one [style_dim] vector for every row, or one per W+ row
/// ([n_latent, style_dim], e.g. a per-layer InterFaceGAN boundary).
public struct LatentDirection: Sendable {
    public let values: [Float]
    public let rowCount: Int
    public let styleDim: Int
    public init(values: [Float], rowCount: Int = 1, styleDim: Int) throws {
        guard rowCount >= 1, styleDim >= 1, values.count == rowCount * styleDim else {
            throw ShapeError("latent direction: \(values.count) values do not make \(rowCount) row(s) of \(styleDim)")
        }
        guard values.allSatisfy(\.isFinite) else { throw ShapeError("latent direction: contains NaN or infinite values") }
        self.values = values; self.rowCount = rowCount; self.styleDim = styleDim
    }
}

/// A GANSpace PCA of W as e4e ships it (`ffhq_pca.pt`): `comp` [K, style_dim] unit components, `std` [K] the
/// spread of W along each, `mean` [style_dim] the mean w.
public struct GANSpacePCA: Sendable {
    public let components: [Float]
    public let std: [Float]
    public let mean: [Float]
    public let styleDim: Int
    public var count: Int { std.count }

    public init(components: [Float], std: [Float], mean: [Float]) throws {
        let d = mean.count
        guard d > 0, !std.isEmpty, components.count == std.count * d else {
            throw ShapeError("GANSpace PCA: comp has \(components.count) values, which is not std's \(std.count) components × mean's \(d) values")
        }
        guard components.allSatisfy(\.isFinite), std.allSatisfy(\.isFinite), mean.allSatisfy(\.isFinite) else {
            throw ShapeError("GANSpace PCA: contains NaN or infinite values")
        }
        self.components = components; self.std = std; self.mean = mean; styleDim = d
    }

    /// e4e's `ganspace.get_delta`: the code's coordinate along component k, in units of its std, measured on W+
    /// row 0 (`⟨w₀ − mean, comp[k]⟩ / std[k]`), and the step `(amount − coord) · comp[k] · std[k]` that moves it
    /// to `amount`. Computed in double precision.
    public func delta(row0: UnsafePointer<Float>, component k: Int, amount: Float) -> [Float] {
        let d = styleDim
        var dot = 0.0
        for j in 0..<d { dot += (Double(row0[j]) - Double(mean[j])) * Double(components[k * d + j]) }
        let coord = dot / Double(std[k])
        let scale = (Double(amount) - coord) * Double(std[k])
        return (0..<d).map { Float(scale * Double(components[k * d + $0])) }
    }
}

/// One edit of W+ codes, as the editing methods define it.
public enum LatentEdit: Sendable {
    /// InterFaceGAN (e4e `apply_interfacegan`) and SeFa (rosinality `apply_factor.py`): `w + amount · direction`
    /// on the selected rows (a per-row direction adds its row r to code row r).
    case shift(LatentDirection, amount: Float, rows: LatentRows)
    /// GANSpace (e4e `ganspace.edit`): set the coordinate along `component` to `amount` std, measured on row 0 of
    /// the code as it is when this edit applies, and add the same step to every selected row.
    case ganspace(GANSpacePCA, component: Int, amount: Float, rows: LatentRows)

    public var rows: LatentRows {
        switch self { case .shift(_, _, let r), .ganspace(_, _, _, let r): return r }
    }

    /// Checks the edit against codes of `nLatent` rows of `styleDim` values.
    public func validate(nLatent: Int, styleDim: Int) throws {
        switch self {
        case .shift(let direction, let amount, _):
            guard direction.styleDim == styleDim else {
                throw ShapeError("the direction has \(direction.styleDim) values per row, but this generator's codes have \(styleDim)")
            }
            guard direction.rowCount == 1 || direction.rowCount == nLatent else {
                throw ShapeError("the direction has \(direction.rowCount) rows; it must have 1 or this generator's \(nLatent)")
            }
            guard amount.isFinite else { throw ShapeError("the amount must be a finite number") }
        case .ganspace(let pca, let k, let amount, _):
            guard pca.styleDim == styleDim else {
                throw ShapeError("the GANSpace PCA is of \(pca.styleDim)-value codes, but this generator's codes have \(styleDim)")
            }
            guard k >= 0 && k < pca.count else { throw ShapeError("GANSpace component \(k) is outside 0..<\(pca.count)") }
            guard amount.isFinite else { throw ShapeError("the amount must be a finite number") }
        }
        if rows.resolved(count: nLatent).isEmpty {
            throw ShapeError("rows \(rows) select none of the \(nLatent) W+ rows")
        }
    }

    /// Applies the edit to W+ codes [N, n_latent, style_dim] in place.
    public func apply(to codes: Tensor) throws {
        guard codes.rank == 3 else { throw ShapeError("latent edits apply to W+ codes [N, n_latent, style_dim], got \(codes.shape)") }
        let n = codes.shape[1], d = codes.shape[2]
        try validate(nLatent: n, styleDim: d)
        let range = rows.resolved(count: n)
        let p = codes.pointer
        for sample in 0..<codes.shape[0] {
            let code = p + sample * n * d
            switch self {
            case .shift(let direction, let amount, _):
                for row in range {
                    let source = direction.rowCount == 1 ? 0 : row
                    for j in 0..<d { code[row * d + j] += amount * direction.values[source * d + j] }
                }
            case .ganspace(let pca, let k, let amount, _):
                let delta = pca.delta(row0: UnsafePointer(code), component: k, amount: amount)
                for row in range { for j in 0..<d { code[row * d + j] += delta[j] } }
            }
        }
    }
}

extension Tensor {
    /// A copy of these W+ codes with `edits` applied in order (each to the result of the ones before).
    public func applyingLatentEdits(_ edits: [LatentEdit]) throws -> Tensor {
        let out = copy()
        for edit in edits { try edit.apply(to: out) }
        return out
    }
}

// MARK: - SeFa

extension StyleGAN2Generator {
    /// rosinality `closed_form_factorization.py`: the state-dict entries whose name contains "modulation" and
    /// "weight" but not "to_rgbs" (so conv1, every convs.k and — a quirk kept from the reference — to_rgb1),
    /// stacked in state-dict order into one [Σ in_channels, style_dim] matrix, in double precision.
    public func sefaWeightMatrix() -> (rows: Int, values: [Double]) {
        var values: [Double] = [], rows = 0
        for name in parameterNames where name.contains("modulation") && name.contains("weight") && !name.contains("to_rgbs") {
            let t = parameters[name]!
            rows += t.shape[0]
            values.append(contentsOf: t.array.map(Double.init))
        }
        return (rows, values)
    }

    /// SeFa components: rows of the result [count, style_dim] are rosinality's `eigvec[:, i]` (the right singular
    /// vectors of the modulation-weight matrix, largest singular value first), found here as eigenvectors of its
    /// Gram matrix. Singular vectors have no inherent sign; each row is flipped so its largest-magnitude entry
    /// is positive, so results can be compared and stored reproducibly.
    public func sefaComponents(count: Int? = nil) -> Tensor {
        let d = config.styleDim
        let (rows, w) = sefaWeightMatrix()
        var gram = [Double](repeating: 0, count: d * d)
        gram.withUnsafeMutableBufferPointer { g in
            w.withUnsafeBufferPointer { w in
                for r in 0..<rows {
                    let row = w.baseAddress! + r * d
                    for i in 0..<d where row[i] != 0 {
                        let a = row[i]
                        for j in i..<d { g[i * d + j] += a * row[j] }
                    }
                }
            }
        }
        for i in 0..<d { for j in 0..<i { gram[i * d + j] = gram[j * d + i] } }
        let eigen = SymmetricEigen(symmetric: gram, n: d)
        let k = min(count ?? d, d)
        var out = [Float](repeating: 0, count: k * d)
        for i in 0..<k {
            let v = eigen.vectors[(i * d)..<((i + 1) * d)]
            var largest = v.startIndex
            for j in v.indices where abs(v[j]) > abs(v[largest]) { largest = j }
            let sign: Double = v[largest] < 0 ? -1 : 1
            for (j, x) in v.enumerated() { out[i * d + j] = Float(sign * x) }
        }
        return Tensor(shape: [k, d], values: out)
    }
}
