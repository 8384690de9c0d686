import Engine
import Foundation
import Imaging
import Models
import Video

/// `nada-bench video [--sizes 256,1024] [--frames N] [--threads N]`: frames per second of `nada-edit video`'s
/// per-frame work on random config-f weights — set every parameter of one reusable generator to the frame's
/// weights between the base and a domain (`setBlend`, as `TransitionVideo` does), render the
/// frame's W+ code (no recording), convert to 8-bit RGB, and encode it as H.264 (x264, crf 18) to a temporary MP4.
/// Split by part so the encoder's share is visible.
func runVideoBench(arguments: [String]) {
    var sizes = [256, 1024], frames = 6
    var i = 0
    while i < arguments.count {
        switch arguments[i] {
        case "--sizes":
            i += 1
            sizes = i < arguments.count ? arguments[i].split(separator: ",").compactMap { Int($0) } : []
        case "--frames":
            i += 1
            frames = i < arguments.count ? max(2, Int(arguments[i]) ?? 6) : 6
        case "--threads", "--repeats":
            i += 1   // read by the shared options
        case let other:
            print("nada-bench video: unknown argument '\(other)'")
            exit(2)
        }
        i += 1
    }
    print("video: config-f random weights, stored noise, \(Threads.count) threads, \(frames) frames per size")
    print("size  frames  interp_s  render_s  rgb+encode_s  per_frame_s  frames_per_s")
    for size in sizes {
        guard let config = try? configF(size: size) else { print("nada-bench video: no config for \(size)"); exit(2) }
        let base = StyleGAN2Generator(config: config, seed: 1), domain = StyleGAN2Generator(config: config, seed: 2)
        let generator = base.copy()
        var rng = SeededRandom(seed: 3)
        let codes = Tensor.randn([1, config.nLatent, config.styleDim], using: &rng)
        let path = NSTemporaryDirectory() + "nada-bench-video-\(getpid()).mp4"
        defer { unlink(path) }
        var interp = 0.0, render = 0.0, encode = 0.0
        do {
            let writer = try VideoWriter(path: path, width: size, height: size, fps: 24)
            for k in 0..<frames {
                let t = Float(k) / Float(frames - 1)
                let t0 = Date()
                try generator.setBlend(base: base, [(generator: domain, weight: t)])
                let t1 = Date()
                let image = try Autograd.noGrad { try generator.forward(wPlus: codes, noise: .stored) }
                let t2 = Date()
                try writer.append(try rgb(image))
                let t3 = Date()
                interp += t1.timeIntervalSince(t0); render += t2.timeIntervalSince(t1); encode += t3.timeIntervalSince(t2)
            }
            let t4 = Date()
            try writer.finish()
            encode += Date().timeIntervalSince(t4)
        } catch {
            print("nada-bench video: \(error)")
            exit(1)
        }
        let perFrame = (interp + render + encode) / Double(frames)
        print(String(format: "%4d %7d %9.3f %9.3f %13.3f %12.3f %13.2f", size, frames, interp / Double(frames), render / Double(frames),
                     encode / Double(frames), perFrame, 1 / perFrame))
    }
}

/// [1, 3, H, W] in [-1, 1] → 8-bit RGB (torchvision's save_image rounding, as the editor writes frames).
private func rgb(_ t: Tensor) throws -> RGBImage {
    let h = t.shape[2], w = t.shape[3], plane = h * w
    var pixels = [UInt8](repeating: 0, count: plane * 3)
    for i in 0..<plane {
        for c in 0..<3 {
            let v = (min(max(t.pointer[c * plane + i], -1), 1) + 1) / 2
            pixels[3 * i + c] = UInt8(min(max(v * 255 + 0.5, 0), 255))
        }
    }
    return try RGBImage(width: w, height: h, pixels: pixels)
}
