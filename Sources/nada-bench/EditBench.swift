import Engine
import Foundation
import Formats
import Imaging
import Models
import Pipeline

/// `nada-bench edit [--size 1024] [--photos 20] [--photo-side 1024] [--photo FILE] [--landmarks FILE] [--keep] [--threads N] [--repeats R] [--precision P]`
///
/// A photo edited end to end through the real command line (issue 17, target 3): random weights written to real
/// checkpoint files (a config-f base generator, an adapted "domain" generator registered from a domain record, an
/// e4e checkpoint with its bundled decoder, as the official coach saves them), a model store of their own, and
/// the `nada-edit` binary built beside this one run as a child process on JPEG photos: decode, FFHQ alignment with
/// dlib's landmark model, e4e inversion, one domain's render, JPEG encode with provenance, commit. Timed:
/// one photo (the whole invocation: start, model loading, the photo), N photos with `--jobs 1` and `--jobs 2`,
/// and the marginal cost per photo (N photos minus one, over N − 1). Then the same stages in this process with the
/// models loaded, one by one, to say where a photo's time goes.
///
/// The photos are the face of fixtures/align/input_face.png upscaled to the given side (bicubic), each with one
/// pixel changed so no two are the same file. Run from the repository root (or pass --photo). `--keep` leaves the
/// temporary folder (store, photos, checkpoints) in place and prints its path, to rerun or profile one command.
func runEditBench(arguments: [String], options: BenchOptions) {
    var size = 1024, photoCount = 20, photoSide = 1024
    var photoSource = "fixtures/align/input_face.png", landmarks = "/usr/share/dlib/" + FaceLandmarker.modelFileName
    var keep = false
    var i = 0
    func next() -> String {
        i += 1
        guard i < arguments.count else { editBenchFail("\(arguments[i - 1]) needs a value") }
        return arguments[i]
    }
    while i < arguments.count {
        switch arguments[i] {
        case "--size": size = Int(next()) ?? 0
        case "--photos": photoCount = max(2, Int(next()) ?? 0)
        case "--photo-side": photoSide = Int(next()) ?? 0
        case "--photo": photoSource = next()
        case "--landmarks": landmarks = next()
        case "--keep": keep = true
        case "--threads", "--repeats": i += 1   // read by the shared options
        case let other: editBenchFail("unknown argument '\(other)'")
        }
        i += 1
    }
    guard photoSide >= 64 else { editBenchFail("--photo-side must be at least 64") }
    let tool = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("nada-edit").path
    guard FileManager.default.isExecutableFile(atPath: tool) else {
        editBenchFail("\(tool) not found: build it beside nada-bench first (swift build -c release)")
    }
    guard FileManager.default.isReadableFile(atPath: landmarks) else {
        editBenchFail("\(landmarks): dlib's landmark model not found (Debian: apt install libdlib-data, or pass --landmarks FILE)")
    }
    guard FileManager.default.isReadableFile(atPath: photoSource) else {
        editBenchFail("\(photoSource) not found: run from the repository root or pass --photo FILE (a photo with one face)")
    }

    let work = NSTemporaryDirectory() + "nada-bench-edit-\(getpid())"
    defer { if keep { print("kept \(work): the model store (models/), photos/ and the checkpoints") } else { try? FileManager.default.removeItem(atPath: work) } }
    let setup: EditBenchSetup
    do {
        setup = try EditBenchSetup(folder: work, size: size, photoSource: photoSource, photoSide: photoSide, photoCount: photoCount)
    } catch {
        editBenchFail("setting up the models and photos: \(error)")
    }

    print("edit: \(size) generator (config-f, random weights), e4e (IR-SE-50, random weights, bundled decoder), "
        + "dlib FFHQ alignment, \(photoSide)x\(photoSide) JPEG photos, \(options.threads) threads, \(Precision.current.rawValue), "
        + "best of \(options.repeats)")
    print("checkpoints: generator \(megabytes(setup.baseGenerator)) MB, domain \(megabytes(setup.domainGenerator)) MB, "
        + "e4e \(megabytes(setup.encoder)) MB")

    // 1. The command line, as a user runs it.
    func cli(_ photos: [String], jobs: Int) -> Double {
        var best = Double.infinity
        for r in 0..<options.repeats {
            let output = "\(work)/out-\(photos.count)-\(jobs)-\(r)"
            var args = ["--models", setup.store, "--threads", String(options.threads), "--domain", EditBenchSetup.domainName,
                        "--encoder", EditBenchSetup.encoderName, "--align", "ffhq", "--landmarks", landmarks,
                        "--jobs", String(jobs), "--no-report", "--output", output]
            if Precision.current != .fp32 { args += ["--precision", Precision.current.rawValue] }
            let t0 = DispatchTime.now().uptimeNanoseconds
            let status = runChild(tool, args + photos)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
            let written = (try? FileManager.default.contentsOfDirectory(atPath: output))?.filter { $0.hasSuffix(".jpg") }.count ?? 0
            guard status == 0, written == photos.count else {
                editBenchFail("nada-edit exited with \(status) and wrote \(written) of \(photos.count) edits (arguments: \(args.joined(separator: " ")))")
            }
            try? FileManager.default.removeItem(atPath: output)
            best = min(best, seconds)
        }
        return best
    }
    let one = cli([setup.photos[0]], jobs: 1)
    let batch1 = cli(setup.photos, jobs: 1)
    let batch2 = cli(setup.photos, jobs: 2)
    let n = Double(photoCount)
    print("command line (nada-edit as a child process, wall seconds, models loaded once per invocation)")
    print("run                    photos  jobs  wall_s  photos_per_s  marginal_s_per_photo")
    print(String(format: "one photo              %6d  %4d  %6.2f  %12.2f", 1, 1, one, 1 / one))
    print(String(format: "batch                  %6d  %4d  %6.2f  %12.2f  %20.3f", photoCount, 1, batch1, n / batch1, (batch1 - one) / (n - 1)))
    print(String(format: "batch                  %6d  %4d  %6.2f  %12.2f  %20.3f", photoCount, 2, batch2, n / batch2, (batch2 - one) / (n - 1)))

    // 2. The same stages in this process, models loaded: where one photo's time goes.
    do {
        try stageBreakdown(setup, landmarks: landmarks, repeats: options.repeats)
    } catch {
        editBenchFail("stage breakdown: \(error)")
    }
}

/// The files the command line reads: a model store with the encoder and the domain, and the photos.
private struct EditBenchSetup {
    static let domainName = "bench", encoderName = "bench-e4e"
    let store: String, baseGenerator: String, domainGenerator: String, encoder: String
    let photos: [String]

    init(folder: String, size: Int, photoSource: String, photoSide: Int, photoCount: Int) throws {
        try FileManager.default.createDirectory(atPath: folder + "/train", withIntermediateDirectories: true)
        let config = try configF(size: size)
        baseGenerator = folder + "/base.pt"
        domainGenerator = folder + "/train/generator.pt"
        encoder = folder + "/e4e.pt"
        let base = StyleGAN2Generator(config: config, seed: 1).stateDict()
        try writeGeneratorCheckpoint(gEma: base.map { ($0.0, $0.1) }, to: baseGenerator)
        try writeGeneratorCheckpoint(gEma: StyleGAN2Generator(config: config, seed: 2).stateDict().map { ($0.0, $0.1) }, to: domainGenerator)

        // e4e as the coach saves it: state_dict with encoder.* and the bundled decoder.*, latent_avg, opts.
        let e4e = e4eRandomWeights(seed: 1)
        var stateDict = e4e.names.map { (name: $0, array: e4e.arrays[$0]!) }
        stateDict += base.map { (name: "decoder." + $0.0, array: $0.1) }
        var rng = SeededRandom(seed: 4)
        let latentAvg = Tensor.randn([config.nLatent, config.styleDim], using: &rng)
        let opts: PyValue = .dict([(.string("encoder_type"), .string("Encoder4Editing")), (.string("start_from_latent_avg"), .bool(true)),
                                   (.string("stylegan_size"), .int(size))])
        try writeTorchCheckpoint(.dict([(.string("state_dict"), .stateDict(stateDict)),
                                        (.string("latent_avg"), .tensor(ArrayData(shape: latentAvg.shape, floats: latentAvg.array))),
                                        (.string("opts"), opts)]), to: encoder)

        let models = ModelStore(root: folder + "/models")
        store = models.root
        _ = try models.add(file: baseGenerator, kind: .generators, name: "bench-base")
        _ = try models.add(file: encoder, kind: .encoders, name: EditBenchSetup.encoderName)
        let record = DomainRecord(name: EditBenchSetup.domainName, sourcePrompt: "photo", targetPrompt: "random weights",
                                  generator: .init(path: "generator.pt", sha256: try FileDigest.sha256Hex(ofFileAt: domainGenerator)),
                                  baseGenerator: .init(path: baseGenerator, sha256: try FileDigest.sha256Hex(ofFileAt: baseGenerator)),
                                  clipModels: ["ViT-B/32"], iterations: 0, finalLoss: 0, wallTimeSeconds: 0, toolVersion: "nada-bench",
                                  created: ISO8601DateFormatter().string(from: Date()))
        try record.write(to: folder + "/train/" + DomainRegistry.recordFileName)
        _ = try DomainRegistry(store: models).install(recordFile: folder + "/train/" + DomainRegistry.recordFileName)

        let face = try pilResize(loadImage(path: photoSource), width: photoSide, height: photoSide, filter: .bicubic)
        try FileManager.default.createDirectory(atPath: folder + "/photos", withIntermediateDirectories: true)
        photos = try (0..<photoCount).map { k in
            var photo = face
            photo.pixels[0] = UInt8(k % 256)   // distinct files, the same face
            let path = String(format: "%@/photos/IMG_%04d.jpg", folder, k + 1)
            try writeImage(photo, to: path, format: .jpeg(quality: 92))
            return path
        }
    }
}

/// One photo's stages with the models loaded (what `DomainEditor.process` does, split): best of `repeats`.
private func stageBreakdown(_ setup: EditBenchSetup, landmarks: String, repeats: Int) throws {
    let t0 = DispatchTime.now().uptimeNanoseconds
    let inverter = try Inverter(encoder: try ModelResolver.encoder(at: setup.encoder))
    let generator = try ModelResolver.generator(at: setup.domainGenerator)
    let aligner = try PhotoAligner(mode: .ffhq, landmarkModel: landmarks)
    let load = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9

    var stages: [(String, Double)] = []
    func stage<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        var result: T?, best = Double.infinity
        for _ in 0..<max(1, repeats) {
            let t = DispatchTime.now().uptimeNanoseconds
            result = try body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t) * 1e-9)
        }
        stages.append((name, best))
        return result!
    }
    let bytes = try stage("read + decode JPEG") { try decodeImage(FileIO.read(setup.photos[0]), name: setup.photos[0]) }
    let aligned = try stage("detect + landmarks + align (dlib)") { try aligner.align(bytes).image }
    let input = try stage("encoder input (resize to 256)") { try ImageTensors.encoderInput(aligned) }
    let codes = try stage("e4e inversion") { try inverter.invert(input, iterations: 1, reconstruct: false).codes }
    let image = try stage("render (domain generator)") { try Autograd.noGrad { try generator.forward(wPlus: codes, noise: .stored) } }
    let rgb = try stage("to 8-bit RGB") { try ImageTensors.image(from: image) }
    _ = try stage("encode JPEG (q95, provenance)") {
        try encodeImage(rgb, format: .jpeg(quality: 95), provenance: Provenance(toolVersion: "nada-bench", inputFileName: "IMG_0001.jpg",
                                                                            inputSHA256: String(repeating: "0", count: 64), modelSHA256: [:],
                                                                            domain: EditBenchSetup.domainName, domainPrompts: [:], strength: 1,
                                                                            encoder: "e4e", dateTimeOriginal: nil, extra: [:]))
    }
    print(String(format: "stages in one process (models loaded in %.2f s; best of %d each)", load, max(1, repeats)))
    print("stage                                  seconds")
    for (name, seconds) in stages { print(name.padding(toLength: 38, withPad: " ", startingAt: 0) + String(format: " %7.3f", seconds)) }
    print(String(format: "sum                                    %7.3f", stages.reduce(0) { $0 + $1.1 }))
}

/// Runs `tool args`, its output discarded; returns its exit status (or 128 + signal).
private func runChild(_ tool: String, _ args: [String]) -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = args
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { editBenchFail("cannot start \(tool): \(error)") }
    process.waitUntilExit()
    return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
}

private func megabytes(_ path: String) -> Int {
    Int((((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0) / 1_000_000)
}

private func editBenchFail(_ message: String) -> Never {
    print("nada-bench edit: \(message)")
    exit(1)
}
