import Foundation

/// Eigen-decomposition of a real symmetric matrix in double precision: Householder reduction to tridiagonal form,
/// then the implicit QL iteration with Wilkinson shifts (the EISPACK tred2/tql2 pair, as described in
/// Wilkinson & Reinsch's Handbook). SeFa needs the eigenvectors of the 512×512 Gram matrix of the modulation
/// weights; Debian's OpenBLAS has LAPACK, but its Fortran entry points are not in the CBLAS module the Engine
/// exposes, and this O(n³) pair takes well under a second at n = 512 in a release build.
public struct SymmetricEigen {
    /// Eigenvalues, largest first.
    public let values: [Double]
    /// Eigenvectors as rows (`vectors[i * n ..< (i + 1) * n]` belongs to `values[i]`), unit length.
    public let vectors: [Double]
    public let n: Int

    /// `matrix` is n×n row-major and must be symmetric (only symmetric input gives meaningful results).
    public init(symmetric matrix: [Double], n: Int) {
        precondition(matrix.count == n * n, "SymmetricEigen: \(matrix.count) values for a \(n)×\(n) matrix")
        self.n = n
        guard n > 0 else { values = []; vectors = []; return }
        var v = matrix                       // V[k][j] = v[k * n + j]; columns become eigenvectors
        var d = [Double](repeating: 0, count: n)
        var e = [Double](repeating: 0, count: n)
        Self.tridiagonalize(&v, &d, &e, n)
        Self.diagonalize(&v, &d, &e, n)
        // Largest eigenvalue first; eigenvector i is column i of V.
        let order = (0..<n).sorted { d[$0] > d[$1] }
        values = order.map { d[$0] }
        var rows = [Double](repeating: 0, count: n * n)
        for (row, column) in order.enumerated() {
            for k in 0..<n { rows[row * n + k] = v[k * n + column] }
        }
        vectors = rows
    }

    /// Householder reduction: on return `v` holds the orthogonal transformation, `d` the diagonal and
    /// `e[1...]` the sub-diagonal of the tridiagonal matrix.
    static func tridiagonalize(_ v: inout [Double], _ d: inout [Double], _ e: inout [Double], _ n: Int) {
        for j in 0..<n { d[j] = v[(n - 1) * n + j] }
        for i in stride(from: n - 1, to: 0, by: -1) {
            var scale = 0.0, h = 0.0
            for k in 0..<i { scale += abs(d[k]) }
            if scale == 0 {
                e[i] = d[i - 1]
                for j in 0..<i { d[j] = v[(i - 1) * n + j]; v[i * n + j] = 0; v[j * n + i] = 0 }
            } else {
                for k in 0..<i { d[k] /= scale; h += d[k] * d[k] }
                var f = d[i - 1]
                var g = h.squareRoot()
                if f > 0 { g = -g }
                e[i] = scale * g
                h -= f * g
                d[i - 1] = f - g
                for j in 0..<i { e[j] = 0 }
                for j in 0..<i {
                    f = d[j]
                    v[j * n + i] = f
                    g = e[j] + v[j * n + j] * f
                    for k in (j + 1)..<i {
                        g += v[k * n + j] * d[k]
                        e[k] += v[k * n + j] * f
                    }
                    e[j] = g
                }
                f = 0
                for j in 0..<i { e[j] /= h; f += e[j] * d[j] }
                let hh = f / (h + h)
                for j in 0..<i { e[j] -= hh * d[j] }
                for j in 0..<i {
                    f = d[j]; g = e[j]
                    for k in j..<i { v[k * n + j] -= f * e[k] + g * d[k] }
                    d[j] = v[(i - 1) * n + j]
                    v[i * n + j] = 0
                }
            }
            d[i] = h
        }
        // Accumulate the transformations.
        for i in 0..<(n - 1) {
            v[(n - 1) * n + i] = v[i * n + i]
            v[i * n + i] = 1
            let h = d[i + 1]
            if h != 0 {
                for k in 0...i { d[k] = v[k * n + i + 1] / h }
                for j in 0...i {
                    var g = 0.0
                    for k in 0...i { g += v[k * n + i + 1] * v[k * n + j] }
                    for k in 0...i { v[k * n + j] -= g * d[k] }
                }
            }
            for k in 0...i { v[k * n + i + 1] = 0 }
        }
        for j in 0..<n { d[j] = v[(n - 1) * n + j]; v[(n - 1) * n + j] = 0 }
        v[(n - 1) * n + n - 1] = 1
        e[0] = 0
    }

    /// Implicit QL iterations on the tridiagonal matrix; eigenvalues end in `d`, eigenvectors in the columns of `v`.
    static func diagonalize(_ v: inout [Double], _ d: inout [Double], _ e: inout [Double], _ n: Int) {
        for i in 1..<max(n, 1) { e[i - 1] = e[i] }
        e[n - 1] = 0
        var f = 0.0, tst1 = 0.0
        let eps = Double.ulpOfOne
        for l in 0..<n {
            tst1 = max(tst1, abs(d[l]) + abs(e[l]))
            var m = l
            while m < n - 1 && abs(e[m]) > eps * tst1 { m += 1 }
            if m > l {
                var iterations = 0
                repeat {
                    iterations += 1
                    // Wilkinson shift from the leading 2×2 block.
                    var g = d[l]
                    var p = (d[l + 1] - g) / (2 * e[l])
                    var r = hypot(p, 1)
                    if p < 0 { r = -r }
                    d[l] = e[l] / (p + r)
                    d[l + 1] = e[l] * (p + r)
                    let dl1 = d[l + 1]
                    var h = g - d[l]
                    for i in (l + 2)..<n { d[i] -= h }
                    f += h
                    // Implicit QL sweep from m back to l.
                    p = d[m]
                    var c = 1.0, c2 = 1.0, c3 = 1.0
                    let el1 = e[l + 1]
                    var s = 0.0, s2 = 0.0
                    for i in stride(from: m - 1, through: l, by: -1) {
                        c3 = c2; c2 = c; s2 = s
                        g = c * e[i]
                        h = c * p
                        r = hypot(p, e[i])
                        e[i + 1] = s * r
                        s = e[i] / r
                        c = p / r
                        p = c * d[i] - s * g
                        d[i + 1] = h + s * (c * g + s * d[i])
                        for k in 0..<n {
                            let a = v[k * n + i + 1], b = v[k * n + i]
                            v[k * n + i + 1] = s * b + c * a
                            v[k * n + i] = c * b - s * a
                        }
                    }
                    p = -s * s2 * c3 * el1 * e[l] / dl1
                    e[l] = s * p
                    d[l] = c * p
                } while abs(e[l]) > eps * tst1 && iterations < 100
            }
            d[l] += f
            e[l] = 0
        }
    }
}
