import Foundation
import Pipeline
import Training
#if canImport(Glibc)
import Glibc
#endif

/// A live progress line on a terminal (iteration, loss, s/it, ETA); plain lines when stderr is not a terminal.
final class ProgressLine {
    let total: Int
    let live = isatty(2) != 0
    var started = Date()
    init(total: Int) { self.total = total }

    func update(_ r: IterationReport) {
        let elapsed = Date().timeIntervalSince(started)
        let perIteration = r.seconds
        let eta = Double(max(0, total - r.iteration)) * perIteration
        let line = String(format: "iteration %d/%d  loss %.4f  %.2f s/it  ETA %@", r.iteration, total, r.loss, perIteration,
                          ProgressLine.duration(eta) as NSString)
        if live {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        } else {
            printError(line + String(format: "  (elapsed %.0f s)", elapsed))
        }
    }

    /// `frame 12/48  0.85 s/frame  ETA 31s`: `done` of `total` units since `started`, the ETA from the mean so far.
    /// Off a terminal, a plain line every `every` units and at the end.
    func update(done: Int, unit: String, every: Int = 10) {
        let elapsed = Date().timeIntervalSince(started)
        let perUnit = elapsed / Double(max(done, 1))
        let line = String(format: "%@ %d/%d  %.2f s/%@  ETA %@", unit as NSString, done, total, perUnit, unit as NSString,
                          ProgressLine.duration(Double(max(0, total - done)) * perUnit) as NSString)
        if live {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        } else if done == total || done % every == 0 {
            printError(line + String(format: "  (elapsed %.0f s)", elapsed))
        }
    }

    func message(_ text: String) {
        if live { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        printError(text)
    }

    func finish() { if live { FileHandle.standardError.write(Data("\n".utf8)) } }

    static func duration(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600 ? "\(t / 3600)h\(t % 3600 / 60)m" : t >= 60 ? "\(t / 60)m\(t % 60)s" : "\(t)s"
    }
}
