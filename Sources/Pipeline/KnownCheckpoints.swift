import Foundation

/// Public checkpoints `models fetch NAME` knows how to get, with the URLs their authors publish.
public struct KnownCheckpoint: Equatable {
    public enum Location: Equatable {
        case url(String)
        case googleDrive(id: String)
        /// Published only in a form this tool does not unpack (dlib's .bz2): `fetch` prints the steps.
        case manual(url: String, unpack: String)
    }

    public var name: String
    public var kind: ModelKind
    public var fileName: String
    public var location: Location
    /// SHA-256 the publisher states (OpenAI puts it in the CLIP URL path); nil = recorded at first download.
    public var publishedSHA256: String?
    public var summary: String
    /// Where the link is published, for the user to check.
    public var publishedAt: String
    /// A system package that installs the file where nada-edit finds it without fetching (said before the manual steps).
    public var systemPackage: String?

    public init(name: String, kind: ModelKind, fileName: String, location: Location, publishedSHA256: String?,
                summary: String, publishedAt: String, systemPackage: String? = nil) {
        self.name = name; self.kind = kind; self.fileName = fileName; self.location = location
        self.publishedSHA256 = publishedSHA256; self.summary = summary; self.publishedAt = publishedAt
        self.systemPackage = systemPackage
    }

    /// What to do when Drive will not hand the file over to a program (quota, sign-in, changed page).
    public func manualInstructions() -> String {
        switch location {
        case .url(let url):
            return "  1. Download \(url)\n  2. nada-edit models add \(fileName) --kind \(kind.rawValue) --name \(name)"
        case .manual(let url, let unpack):
            let steps = "  1. Download \(url)\n  2. \(unpack)\n  3. nada-edit models add \(fileName) --kind \(kind.rawValue) --name \(name)"
            guard let systemPackage else { return steps }
            return "  \(systemPackage)\n  Or by hand:\n" + steps
        case .googleDrive(let id):
            return """
              1. Open \(GoogleDrive.viewURL(id: id)) in a web browser (published at \(publishedAt)).
              2. Click Download (and "Download anyway" on the virus-scan warning); save it as \(fileName).
              3. nada-edit models add \(fileName) --kind \(kind.rawValue) --name \(name)
            """
        }
    }
}

public enum KnownCheckpoints {
    public static let all: [KnownCheckpoint] = [
        KnownCheckpoint(
            name: "stylegan2-ffhq-config-f", kind: .generators, fileName: "stylegan2-ffhq-config-f.pt",
            location: .googleDrive(id: "1EM87UquaoQmk17Q8d5kYIAHqu0dkYqdT"), publishedSHA256: nil,
            summary: "StyleGAN2 FFHQ 1024x1024 (config-f), rosinality conversion; NADA's default base generator",
            publishedAt: "https://github.com/yuval-alaluf/restyle-encoder#auxiliary-models"),
        KnownCheckpoint(
            name: "e4e-ffhq-encode", kind: .encoders, fileName: "e4e_ffhq_encode.pt",
            location: .googleDrive(id: "1cUv_reLE6k3604or78EranS7XzuVMWeO"), publishedSHA256: nil,
            summary: "encoder4editing (e4e) FFHQ inversion encoder",
            publishedAt: "https://github.com/omertov/encoder4editing#pretrained-models"),
        KnownCheckpoint(
            name: "restyle-e4e-ffhq-encode", kind: .encoders, fileName: "restyle_e4e_ffhq_encode.pt",
            location: .googleDrive(id: "1e2oXVeBPXMQoUoC_4TNwAWpOPpSEhE_e"), publishedSHA256: nil,
            summary: "ReStyle over e4e, FFHQ (what the NADA notebook inverts real photos with)",
            publishedAt: "https://github.com/yuval-alaluf/restyle-encoder#restyle-e4e"),
        KnownCheckpoint(
            name: "restyle-psp-ffhq-encode", kind: .encoders, fileName: "restyle_psp_ffhq_encode.pt",
            location: .googleDrive(id: "1sw6I2lRIB0MpuJkpc8F5BJiSZrc0hjfE"), publishedSHA256: nil,
            summary: "ReStyle over pSp, FFHQ",
            publishedAt: "https://github.com/yuval-alaluf/restyle-encoder#restyle-psp"),
        KnownCheckpoint(
            name: "clip-vit-b-32", kind: .clip, fileName: "ViT-B-32.pt",
            location: .url("https://openaipublic.azureedge.net/clip/models/40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af/ViT-B-32.pt"),
            publishedSHA256: "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af",
            summary: "OpenAI CLIP ViT-B/32 (TorchScript)", publishedAt: "https://github.com/openai/CLIP/blob/main/clip/clip.py"),
        KnownCheckpoint(
            name: "clip-vit-b-16", kind: .clip, fileName: "ViT-B-16.pt",
            location: .url("https://openaipublic.azureedge.net/clip/models/5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f/ViT-B-16.pt"),
            publishedSHA256: "5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f",
            summary: "OpenAI CLIP ViT-B/16 (TorchScript)", publishedAt: "https://github.com/openai/CLIP/blob/main/clip/clip.py"),
        KnownCheckpoint(
            name: "clip-bpe-vocab", kind: .vocab, fileName: "bpe_simple_vocab_16e6.txt.gz",
            location: .url("https://github.com/openai/CLIP/raw/main/clip/bpe_simple_vocab_16e6.txt.gz"),
            publishedSHA256: nil,
            summary: "CLIP byte-pair-encoding vocabulary", publishedAt: "https://github.com/openai/CLIP/tree/main/clip"),
        KnownCheckpoint(
            name: "dlib-landmarks-68", kind: .landmarks, fileName: "shape_predictor_68_face_landmarks.dat",
            location: .manual(url: "http://dlib.net/files/shape_predictor_68_face_landmarks.dat.bz2",
                              unpack: "bunzip2 shape_predictor_68_face_landmarks.dat.bz2"),
            publishedSHA256: nil,
            summary: "dlib's 68-point face landmark model, for --align ffhq (Debian/Ubuntu: package libdlib-data; also PyPI's face-recognition-models)",
            publishedAt: "http://dlib.net/files/",
            systemPackage: "On Debian/Ubuntu the package libdlib-data provides it: `sudo apt install libdlib-data` installs "
                + "/usr/share/dlib/shape_predictor_68_face_landmarks.dat, which nada-edit uses without fetching."),
    ]

    public static func named(_ name: String) -> KnownCheckpoint? { all.first { $0.name == name } }

    /// Where the publishers of these checkpoints send a download, beyond the catalog URLs' own hosts:
    /// Drive's `uc` link answers from drive.usercontent.google.com (older: a redirect via docs.google.com to
    /// doc-…-docs.googleusercontent.com); GitHub's `raw/` and release links redirect to raw./objects./
    /// release-assets.githubusercontent.com; openaipublic.azureedge.net is backed by the openaipublic blob
    /// container; Hugging Face `resolve/` links redirect to cdn-lfs*.huggingface.co or *.hf.co (Xet storage).
    public static let publisherRedirectHosts = [
        "drive.google.com", "docs.google.com", "drive.usercontent.google.com", "*.googleusercontent.com",
        "github.com", "raw.githubusercontent.com", "objects.githubusercontent.com", "release-assets.githubusercontent.com",
        "openaipublic.azureedge.net", "openaipublic.blob.core.windows.net",
        "huggingface.co", "*.huggingface.co", "*.hf.co",
    ]

    /// The hosts a download may be redirected to (and a Drive confirmation form may point at): every catalog
    /// URL's host plus `publisherRedirectHosts`. `models fetch --allow-host` adds more.
    public static var downloadHosts: HostAllowList {
        var hosts = [String]()
        for checkpoint in all {
            switch checkpoint.location {
            case .url(let url), .manual(let url, _): if let host = URL(string: url)?.host { hosts.append(host) }
            case .googleDrive: if let host = URL(string: GoogleDrive.defaultBase)?.host { hosts.append(host) }
            }
        }
        return HostAllowList(hosts + publisherRedirectHosts)
    }
}
