import Foundation
import Models

// The CLIP tokenizer (text cleaning: ftfy-style fixes, HTML unescape, whitespace; pre-tokenizer regex;
// byte-level BPE) on arbitrary text, then decode of the ids. The vocabulary is the demo's
// (fixtures/demo/bpe_demo_vocab.txt.gz, every merge line) so that the target runs without ../shared;
// NADA_FUZZ_BPE overrides it (e.g. OpenAI's bpe_simple_vocab_16e6.txt.gz, with all 48 894 merges).
private let tokenizer: CLIPTokenizer = {
    let env = ProcessInfo.processInfo.environment
    let path = env["NADA_FUZZ_BPE"] ?? (#filePath as NSString)
        .deletingLastPathComponent.appending("/../../../fixtures/demo/bpe_demo_vocab.txt.gz")
    do {
        // Models never open files (the loading layer reads them), so the target reads the vocabulary itself.
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try CLIPTokenizer(bpeData: data, path: path, mergeCount: env["NADA_FUZZ_BPE"] == nil ? nil : CLIPTokenizer.openAIMergeCount)
    } catch {
        fatalError("fuzz-tokenizer: cannot load the BPE vocabulary: \(error)")
    }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // Invalid UTF-8 becomes U+FFFD, as reading a prompt file does.
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let ids = tokenizer.encode(text)
    _ = try? tokenizer.tokenize(text, truncate: true)
    do {
        _ = try tokenizer.decode(ids)
    } catch {
        fatalError("encode produced an id decode rejects: \(error)")
    }
    return 0
}
