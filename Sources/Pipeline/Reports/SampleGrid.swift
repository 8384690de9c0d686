import Foundation
import Imaging

/// A training sample grid with its labels drawn in: a header "iteration N of M" above, "base" and "adapted" to the
/// left of the frozen and adapted rows. The text is an SVG drawn by librsvg (real glyphs); the samples' pixels are
/// copied in untouched.
enum SampleGrid {
    static let labelWidth = 96
    static let headerHeight = 28

    static func labelled(base: RGBImage, adapted: RGBImage, iteration: Int, of total: Int) throws -> RGBImage {
        guard base.width == adapted.width, base.height == adapted.height else {
            throw PipelineError.invalidArgument("sample rows differ in size (\(base.width)x\(base.height) and \(adapted.width)x\(adapted.height))")
        }
        let rowH = base.height, gridW = base.width
        let width = labelWidth + gridW, height = headerHeight + 2 * rowH
        // Row labels shrink with tiny test models' rows but never below a readable 9 px.
        let size = Double(max(9, min(16, rowH / 3)))
        let c = Markup.coord
        let svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" font-family="\(Markup.fontFamily)">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(labelWidth + 6)" y="19" font-size="14" font-weight="bold">iteration \(iteration) of \(total)</text>
        <text x="\(labelWidth - 8)" y="\(c(Double(headerHeight) + Double(rowH) / 2 + size / 3))" font-size="\(c(size))" text-anchor="end">base</text>
        <text x="\(labelWidth - 8)" y="\(c(Double(headerHeight + rowH) + Double(rowH) / 2 + size / 3))" font-size="\(c(size))" text-anchor="end">adapted</text>
        </svg>
        """
        var canvas = try SVGRaster.render(svg, width: width, height: height, name: "sample grid labels").pixels
        for (row, image) in [base, adapted].enumerated() {
            for y in 0..<rowH {
                let dst = ((headerHeight + row * rowH + y) * width + labelWidth) * 3, src = y * gridW * 3
                canvas.replaceSubrange(dst..<(dst + gridW * 3), with: image.pixels[src..<(src + gridW * 3)])
            }
        }
        return try RGBImage(width: width, height: height, pixels: canvas)
    }
}
