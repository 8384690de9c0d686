import Engine
import Foundation

// nada-bench: timing harness for the engine and models.
// Usage: nada-bench <group> [--threads N]. Each group lives in its own file and registers below;
// adding one (stylegan2, clip, ...) is a new file plus one line in `groups`.

/// The command line after the group name, without the shared `--precision P` (every group accepts it; the groups
/// that parse their own flags never see it).
let groupArguments: [String] = {
    var rest = Array(CommandLine.arguments.dropFirst(2)), out: [String] = []
    while !rest.isEmpty {
        let a = rest.removeFirst()
        if a == "--precision", !rest.isEmpty { rest.removeFirst() } else { out.append(a) }
    }
    return out
}()

let groups: [(name: String, summary: String, run: (BenchOptions) -> Void)] = [
    ("kernels", "sgemm, conv2d forward/backward and upfirdn2d against this machine's sgemm rate", runKernelBench),
    ("stylegan2", "StyleGAN2 forward and forward+backward at 256 and 1024 (config-f widths, random weights)",
     { _ in runStyleGAN2Bench(arguments: groupArguments) }),
    ("clip", "CLIP ViT-B/32 and B/16 image forward/backward and the 79 prompt templates (random weights)",
     { _ in runCLIPBench(arguments: groupArguments) }),
    ("train", "one StyleGAN-NADA training iteration at 256 and 1024 with ViT-B/32, split by part (random weights)",
     { _ in runTrainBench(arguments: groupArguments) }),
    ("encoders", "e4e (IR-SE-50 + FPN + 18 style heads) forward at 256x256, batch 1 and 4 (random weights)", runEncoderBench),
    ("video", "nada-edit video's per-frame work at 256 and 1024: weight interpolation, render, H.264 encode (random weights)",
     { _ in runVideoBench(arguments: groupArguments) }),
    ("edit", "a photo edited end to end at 1024 through nada-edit (decode, dlib alignment, e4e, render, JPEG); --jobs 1 and 2 over 20 photos",
     { options in runEditBench(arguments: groupArguments, options: options) }),
    ("load", "reading checkpoint files given on the command line (nada-bench load FILE... --repeats N)",
     { options in runLoadBench(arguments: groupArguments, repeats: options.repeats) }),
]

func usage() -> String {
    "usage: nada-bench <group> [--threads N] [--repeats N] [--precision fp32|bf16]\ngroups:\n"
        + groups.map { "  \($0.name.padding(toLength: 10, withPad: " ", startingAt: 0)) \($0.summary)" }.joined(separator: "\n")
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard let groupName = arguments.first, let group = groups.first(where: { $0.name == groupName }) else {
    print(usage())
    exit(arguments.isEmpty || arguments.first == "--help" || arguments.first == "-h" ? 0 : 2)
}
do {
    // The shared options (--threads, --repeats) are read here; other flags (--sizes, --model, ...) are left to
    // the groups that read them from the command line.
    let options = try BenchOptions(parsing: Array(arguments.dropFirst()))
    Threads.set(options.threads)
    if Precision.use(options.precision) != options.precision {
        print("nada-bench: this CPU has no AVX512-BF16; running in fp32")
    }
    if options.precision != .fp32 { print("nada-bench: GEMMs in \(Precision.current.rawValue) (fp32 accumulation)") }
    if ["kernels", "encoders"].contains(group.name) { print("nada-bench \(group.name): \(options.threads) thread(s)") }
    group.run(options)
} catch {
    print("nada-bench: \(error)\n\(usage())")
    exit(2)
}
