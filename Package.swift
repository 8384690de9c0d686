// swift-tools-version:5.10
// nada-edit: StyleGAN-NADA on CPUs. Targets are split by job; data flows
// file -> Formats -> Models -> Training/Pipeline -> CLI.
import PackageDescription

// Release builds drop Swift's bounds and overflow checks in the numeric targets (Engine, Models,
// Training, nada-bench): hot loops use unsafe pointers already, and the shape checks that matter are
// explicit. The readers of untrusted files (Formats, Imaging) keep every check (issue 22): there an
// unchecked overflow turns a hostile file into wrong data or memory corruption. Measured, release:
// loading the fixture checkpoints is unchanged within noise (generator.pt 1.43 ms, CLIP model_state.pt
// 4.3-4.5 ms); Pillow resizes are 1.45x slower (1024->224 bicubic 7.6 -> 11.0 ms), once per input photo.
let fastMath: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

let package = Package(
    name: "nada-edit",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "nada-edit", targets: ["nada-edit"]),
        .executable(name: "nada-bench", targets: ["nada-bench"]),
        .executable(name: "nada-man", targets: ["nada-man"]),
        // For the libFuzzer package in fuzz/, which depends on this one by path (issue 18).
        .library(name: "NadaEditLibraries", targets: ["Formats", "Imaging", "Models", "DurableIO"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // The PostgreSQL work queue (issue 19, `--queue postgres://…`); only ClusterQueue links it.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        // SHA-256 of photos and checkpoints (DurableIO.SHA256); postgres-nio already depends on it.
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
    ],
    targets: [
        // System libraries (Debian: libopenblas-dev, zlib1g-dev, libexif-dev, libjpeg-dev, libpng-dev, libdlib-dev,
        // libavcodec-dev, libavformat-dev, libswscale-dev).
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .systemLibrary(name: "CEXIF", path: "Sources/CEXIF"),
        // libjpeg reports errors with longjmp, which Swift cannot survive: the C shim owns the setjmp.
        .target(name: "CImageCodecs", path: "Sources/CImageCodecs",
                cSettings: [.unsafeFlags(["-O2"])],
                linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png16")]),
        // dlib (Debian libdlib-dev) for face detection + 68 landmarks (issue 9): C++ behind a C
        // interface that catches every exception. -O2 even in debug: dlib's HOG scan is slow unoptimised.
        .target(name: "CDlibShim", path: "Sources/CDlibShim",
                cxxSettings: [.unsafeFlags(["-std=c++14", "-O2"])],
                // dlib's headers call BLAS/LAPACK; Debian's OpenBLAS (already linked for CBLAS) has both.
                linkerSettings: [.linkedLibrary("dlib"), .linkedLibrary("openblas")]),

        // Allocator policy for the engine (glibc's mallopt is not visible from Swift).
        .target(name: "CKernels", path: "Sources/CKernels", cSettings: [.unsafeFlags(["-O2"])]),
        // bf16 GEMM through oneDNN (Debian's libdnnl-dev; it threads with OpenMP, hence libgomp).
        .target(name: "CBF16", path: "Sources/CBF16", cSettings: [.unsafeFlags(["-O2"])],
                linkerSettings: [.linkedLibrary("dnnl"), .linkedLibrary("gomp")]),

        // H.264/MP4 video through FFmpeg's libraries (Debian libavcodec-dev, libavformat-dev, libswscale-dev).
        .target(name: "CVideoEncoder", path: "Sources/CVideoEncoder",
                linkerSettings: [.linkedLibrary("avformat"), .linkedLibrary("avcodec"), .linkedLibrary("swscale"), .linkedLibrary("avutil")]),
        .target(name: "Video", dependencies: ["CVideoEncoder", "Imaging"]),

        // SVG -> pixels through librsvg + cairo (Debian librsvg2-dev; text needs a font, fonts-dejavu-core), for the
        // loss plot and the sample grids' labels (issue 20). Linked rather than run as `rsvg-convert` so that
        // loss.png is always written and errors come back as values, with no program looked up on PATH.
        .systemLibrary(name: "CRsvg", path: "Sources/CRsvg", pkgConfig: "librsvg-2.0", providers: [.apt(["librsvg2-dev"])]),
        .target(name: "CSVGRaster", dependencies: ["CRsvg"], path: "Sources/CSVGRaster",
                linkerSettings: [.linkedLibrary("rsvg-2"), .linkedLibrary("cairo"), .linkedLibrary("gobject-2.0"), .linkedLibrary("glib-2.0")]),

        // The one durable writer (temp + fsync + no-replace rename) and mover; renameat2 needs a C shim.
        .target(name: "CDurableIO", path: "Sources/CDurableIO"),
        .target(name: "DurableIO", dependencies: ["CDurableIO", .product(name: "Crypto", package: "swift-crypto")]),

        .target(name: "Engine", dependencies: ["CBLAS", "CKernels", "CBF16"], swiftSettings: fastMath),
        .target(name: "Formats", dependencies: ["CZlib", "DurableIO"]),
        .target(name: "Models", dependencies: ["Engine", "Formats"], swiftSettings: fastMath),
        .target(name: "Training", dependencies: ["Engine", "Formats", "Models"], swiftSettings: fastMath),
        .target(name: "Imaging", dependencies: ["CImageCodecs", "CEXIF", "CZlib", "CDlibShim", "DurableIO"]),
        .target(name: "Pipeline", dependencies: ["Engine", "Formats", "Models", "Training", "Imaging", "DurableIO", "Video", "CSVGRaster"],
                exclude: ["Cluster/Queue"]),
        // The work queue on PostgreSQL: its own target so that builds of the numeric targets do not compile
        // postgres-nio and SwiftNIO (several minutes on two cores).
        .target(name: "ClusterQueue", dependencies: [
            "Pipeline", "Imaging", "DurableIO", .product(name: "PostgresNIO", package: "postgres-nio"),
        ], path: "Sources/Pipeline/Cluster/Queue"),
        .target(name: "NadaEditCLI", dependencies: [
            "Pipeline", "ClusterQueue", "Engine", "Formats", "Models", "Training", "Imaging", "DurableIO",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "nada-edit", dependencies: ["NadaEditCLI"]),
        // man/nada-edit.1 from `nada-edit --experimental-dump-help` plus man/prose/ (tools/generate-man.sh);
        // Foundation only, so that it builds in seconds and the page test can call it directly.
        .target(name: "ManPage"),
        .executableTarget(name: "nada-man", dependencies: ["ManPage"]),
        .executableTarget(name: "nada-bench", dependencies: ["Engine", "Formats", "Models", "Training", "Imaging", "Video", "Pipeline"], swiftSettings: fastMath),
        // Claim/complete throughput of the PostgreSQL work queue (issue 19); apart from nada-bench so that the numeric
        // benchmarks do not link postgres-nio.
        .executableTarget(name: "nada-queue-bench", dependencies: ["ClusterQueue", "Pipeline"]),

        // Fixture access and tolerance checks shared by the test targets.
        .target(name: "TestSupport", dependencies: ["Engine", "Formats", "Models"], path: "Tests/TestSupport"),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "TestSupport"]),
        .testTarget(name: "DurableIOTests", dependencies: ["DurableIO"]),
        .testTarget(name: "FormatsTests", dependencies: ["Formats"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Formats", "Engine", "TestSupport"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Models", "Formats", "Engine", "TestSupport"]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "DurableIO", "Formats"]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "ClusterQueue", "NadaEditCLI", "Imaging", "Formats", "Models", "DurableIO", "ManPage"]),
    ]
)
