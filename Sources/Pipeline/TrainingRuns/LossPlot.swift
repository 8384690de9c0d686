import DurableIO
import Foundation
import Imaging
import Training

/// The rows of a run's `losses.csv`: `iteration,loss,seconds,trained_modules[,directional,global,patch,manifold]`
/// (the four term columns since issue 20; older rows have none).
public struct LossLog: Equatable {
    public struct Row: Equatable {
        public var iteration: Int
        public var total: Double
        public var seconds: Double
        /// λ·term in `LossTerms.names` order; nil for rows written before the terms were recorded.
        public var terms: [Double]?
    }

    public var rows: [Row]

    public static let header = "iteration,loss,seconds,trained_modules," + LossTerms.names.joined(separator: ",")

    /// Parses the CSV; torn or foreign lines are skipped (a crash can leave a half line).
    public init(csv: String) {
        rows = csv.split(separator: "\n").dropFirst().compactMap { line in
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            guard f.count == 4 || f.count == 4 + LossTerms.names.count,
                  let i = Int(f[0]), let total = Double(f[1]), let seconds = Double(f[2]) else { return nil }
            var terms: [Double]?
            if f.count > 4 {
                let values = f[4...].compactMap { Double($0) }
                guard values.count == LossTerms.names.count else { return nil }
                terms = values
            }
            return Row(iteration: i, total: total, seconds: seconds, terms: terms)
        }
    }

    public static func read(_ path: String) throws -> LossLog {
        guard FileOps.exists(path) else { return LossLog(csv: "") }
        return LossLog(csv: String(decoding: try FileIO.read(path, maxBytes: Int.max), as: UTF8.self))
    }

    /// Mean wall seconds per iteration (nil without rows).
    public var meanSeconds: Double? { rows.isEmpty ? nil : rows.map(\.seconds).reduce(0, +) / Double(rows.count) }
}

/// The loss curve: `loss.svg` (the drawing: axes with ticks and values, one line per non-zero term and the total,
/// each raw and smoothed, a legend, the prompts and CLIP models in the title) and `loss.png` (the same SVG drawn
/// by librsvg, see `SVGRaster`).
public enum LossPlot {
    public static let width = 880, height = 500
    static let margin = (left: 78.0, right: 24.0, top: 64.0, bottom: 58.0)
    static let colours = ["total": "#222222", "directional": "#1f77b4", "global": "#d62728", "patch": "#2ca02c", "manifold": "#9467bd"]

    /// One drawn series.
    struct Series { var name: String; var points: [(x: Double, y: Double)] }

    /// The series worth drawing: the total, and each term that is non-zero somewhere (a term that is off is 0).
    static func series(_ log: LossLog) -> [Series] {
        var out = [Series(name: "total", points: log.rows.map { (x: Double($0.iteration), y: $0.total) })]
        for (k, name) in LossTerms.names.enumerated() {
            let points: [(x: Double, y: Double)] = log.rows.compactMap { row in row.terms.map { (x: Double(row.iteration), y: $0[k]) } }
            if points.contains(where: { $0.y != 0 && $0.y.isFinite }) { out.append(Series(name: name, points: points)) }
        }
        // One term alone is the total (the default: directional only, one CLIP model): one line, named for both.
        if out.count == 2, out[1].points.count == out[0].points.count,
           zip(out[0].points, out[1].points).allSatisfy({ abs($0.y - $1.y) <= 1e-6 * max(1, abs($0.y)) }) {
            return [Series(name: "total = \(out[1].name)", points: out[0].points)]
        }
        return out
    }

    /// Centred moving average over `window` points (odd; shrinks at the ends): no lag, unlike an EMA, so the smooth
    /// line sits on the raw one. The window is a tenth of the run (at least 3): 20 iterations smooth over 3, 300 over 31.
    static func smoothed(_ points: [(x: Double, y: Double)]) -> [(x: Double, y: Double)] {
        let window = max(3, points.count / 10) | 1
        let half = window / 2
        return points.indices.map { i in
            let lo = max(0, i - half), hi = min(points.count - 1, i + half)
            let ys = points[lo...hi].map(\.y).filter(\.isFinite)
            return (points[i].x, ys.isEmpty ? .nan : ys.reduce(0, +) / Double(ys.count))
        }
    }

    /// "Nice" tick values (1, 2 or 5 × 10^k apart) covering lo...hi, about `count` of them.
    static func ticks(_ lo: Double, _ hi: Double, count: Int = 6, minimumStep: Double = 0) -> [Double] {
        guard hi > lo, lo.isFinite, hi.isFinite else { return [lo] }
        let raw = max(minimumStep, (hi - lo) / Double(count))
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        var values: [Double] = []
        var v = ceil(lo / step - 1e-9) * step
        while v <= hi + step * 1e-9 { values.append(abs(v) < step * 1e-9 ? 0 : v); v += step }
        return values
    }

    static func label(_ v: Double, step: Double) -> String {
        if v == v.rounded() && abs(v) < 1e6 && step >= 1 { return String(Int(v)) }
        let decimals = max(0, min(6, Int(-floor(log10(step) + 1e-9))))   // steps are 1, 2 or 5 × 10^k
        return String(format: "%.\(decimals)f", v)
    }

    /// The SVG document. `title` names the prompts, `subtitle` the CLIP models.
    public static func svg(_ log: LossLog, title: String, subtitle: String) -> String {
        let all = series(log)
        let W = Double(width), H = Double(height)
        let x0 = margin.left, x1 = W - margin.right, y0 = margin.top, y1 = H - margin.bottom
        let xs = log.rows.map { Double($0.iteration) }
        var xLo = xs.min() ?? 0, xHi = xs.max() ?? 1
        if xHi - xLo < 1 { xLo -= 1; xHi += 1 }
        let ys = all.flatMap { $0.points.map(\.y) }.filter(\.isFinite)
        var yLo = ys.min() ?? 0, yHi = ys.max() ?? 1
        if yHi - yLo < 1e-9 { yLo -= 0.5; yHi += 0.5 }
        let pad = (yHi - yLo) * 0.05
        yLo -= pad; yHi += pad
        let xTicks = ticks(xLo, xHi, count: 8, minimumStep: 1),   // iterations are whole numbers
            yTicks = ticks(yLo, yHi, count: 6)
        let xStep = xTicks.count > 1 ? xTicks[1] - xTicks[0] : 1, yStep = yTicks.count > 1 ? yTicks[1] - yTicks[0] : 1
        func px(_ x: Double) -> Double { x0 + (x - xLo) / (xHi - xLo) * (x1 - x0) }
        func py(_ y: Double) -> Double { y1 - (y - yLo) / (yHi - yLo) * (y1 - y0) }
        let c = Markup.coord
        var s = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" font-family="\(Markup.fontFamily)">
        <rect width="100%" height="100%" fill="white"/>
        <text class="title" x="\(c(W / 2))" y="24" text-anchor="middle" font-size="17" font-weight="bold">\(Markup.escape(title))</text>
        <text class="subtitle" x="\(c(W / 2))" y="44" text-anchor="middle" font-size="12" fill="#555">\(Markup.escape(subtitle))</text>

        """
        // Grid and ticks.
        for t in xTicks {
            s += "<line x1=\"\(c(px(t)))\" y1=\"\(c(y0))\" x2=\"\(c(px(t)))\" y2=\"\(c(y1 + 5))\" stroke=\"#e5e5e5\"/>\n"
            s += "<text class=\"tick-x\" x=\"\(c(px(t)))\" y=\"\(c(y1 + 20))\" text-anchor=\"middle\" font-size=\"12\">\(label(t, step: xStep))</text>\n"
        }
        for t in yTicks {
            s += "<line x1=\"\(c(x0 - 5))\" y1=\"\(c(py(t)))\" x2=\"\(c(x1))\" y2=\"\(c(py(t)))\" stroke=\"#e5e5e5\"/>\n"
            s += "<text class=\"tick-y\" x=\"\(c(x0 - 9))\" y=\"\(c(py(t) + 4))\" text-anchor=\"end\" font-size=\"12\">\(label(t, step: yStep))</text>\n"
        }
        s += "<rect x=\"\(c(x0))\" y=\"\(c(y0))\" width=\"\(c(x1 - x0))\" height=\"\(c(y1 - y0))\" fill=\"none\" stroke=\"#888\"/>\n"
        s += "<text class=\"axis-x\" x=\"\(c((x0 + x1) / 2))\" y=\"\(c(H - 14))\" text-anchor=\"middle\" font-size=\"13\">iteration</text>\n"
        s += "<text class=\"axis-y\" transform=\"translate(18 \(c((y0 + y1) / 2))) rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">loss (λ · term; the terms add up to the total)</text>\n"
        if log.rows.isEmpty {
            s += "<text x=\"\(c((x0 + x1) / 2))\" y=\"\(c((y0 + y1) / 2))\" text-anchor=\"middle\" font-size=\"14\" fill=\"#777\">no iterations recorded</text>\n"
        }
        // Lines: raw thin and faint, smoothed on top.
        func path(_ points: [(x: Double, y: Double)]) -> String {
            var d = "", pen = false
            for p in points {
                guard p.y.isFinite else { pen = false; continue }
                d += (pen ? " L" : " M") + "\(c(px(p.x))) \(c(py(p.y)))"
                pen = true
            }
            return d
        }
        for series in all {
            let colour = colours[series.name] ?? colours["total"]!
            s += "<g class=\"series\" data-name=\"\(series.name)\">\n"
            if series.points.count == 1, let p = series.points.first, p.y.isFinite {
                s += "<circle cx=\"\(c(px(p.x)))\" cy=\"\(c(py(p.y)))\" r=\"3\" fill=\"\(colour)\"/>\n"
            } else {
                s += "<path class=\"raw\" d=\"\(path(series.points))\" fill=\"none\" stroke=\"\(colour)\" stroke-opacity=\"0.3\" stroke-width=\"1\"/>\n"
                s += "<path class=\"smooth\" d=\"\(path(smoothed(series.points)))\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
            }
            s += "</g>\n"
        }
        // Legend, top right inside the plot.
        let lx = x1 - 190, ly = y0 + 10
        s += "<rect x=\"\(c(lx))\" y=\"\(c(ly))\" width=\"180\" height=\"\(c(Double(all.count) * 18 + 28))\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#ccc\"/>\n"
        for (i, series) in all.enumerated() {
            let y = ly + 16 + Double(i) * 18
            s += "<line x1=\"\(c(lx + 8))\" y1=\"\(c(y - 4))\" x2=\"\(c(lx + 32))\" y2=\"\(c(y - 4))\" stroke=\"\(colours[series.name] ?? colours["total"]!)\" stroke-width=\"2\"/>\n"
            s += "<text class=\"legend\" x=\"\(c(lx + 38))\" y=\"\(c(y))\" font-size=\"12\">\(series.name)</text>\n"
        }
        s += "<text x=\"\(c(lx + 8))\" y=\"\(c(ly + 16 + Double(all.count) * 18))\" font-size=\"10\" fill=\"#777\">faint: raw; solid: moving average</text>\n"
        s += "</svg>\n"
        return s
    }

    /// Writes `loss.svg` and `loss.png` into `folder` (each to a temporary name, then renamed).
    public static func write(_ log: LossLog, title: String, subtitle: String, folder: String) throws {
        let document = svg(log, title: title, subtitle: subtitle)
        let svgPath = (folder as NSString).appendingPathComponent("loss.svg")
        try FileOps.writeAtomically(Data(document.utf8), to: svgPath)
        let image = try SVGRaster.render(document, width: width, height: height, name: svgPath)
        try FileIO.writeAtomically(try encodeImage(image, format: .png), to: (folder as NSString).appendingPathComponent("loss.png"), overwrite: true)
    }
}
