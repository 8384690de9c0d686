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
