// swift-tools-version:5.10
// libFuzzer targets for nada-edit's readers of untrusted bytes (issue 18). A separate package so that the
// main build and `swift test` never see `-sanitize=fuzzer`. Build and run with tools/fuzz.sh:
//   swift build -c release --sanitize=fuzzer --sanitize=address --package-path fuzz --product fuzz-loader
// Each fuzz-* target defines LLVMFuzzerTestOneInput and no main (libFuzzer supplies it), so it only links
// with --sanitize=fuzzer. fuzz-seeds writes seed images with our own metadata (from libFuzzer's init hook).
import PackageDescription

let package = Package(
    name: "nada-edit-fuzz",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "nada-edit", path: ".."),
    ],
    targets: [
        .executableTarget(name: "fuzz-loader", dependencies: [.product(name: "NadaEditLibraries", package: "nada-edit")]),
        .executableTarget(name: "fuzz-image", dependencies: [.product(name: "NadaEditLibraries", package: "nada-edit")]),
        .executableTarget(name: "fuzz-provenance", dependencies: [.product(name: "NadaEditLibraries", package: "nada-edit")]),
        .executableTarget(name: "fuzz-tokenizer", dependencies: [.product(name: "NadaEditLibraries", package: "nada-edit")]),
        .executableTarget(name: "fuzz-seeds", dependencies: [.product(name: "NadaEditLibraries", package: "nada-edit")]),
    ]
)
