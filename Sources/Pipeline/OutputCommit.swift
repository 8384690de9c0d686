import DurableIO
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Moves a photo's finished temporary outputs to their final names, for the batch runner and the watcher alike.
///
/// The rule (man page, "Output names"): `<stem>.<domain>.<ext>`; if that name is taken by a file that is not
/// ours to replace — another input with the same name, another process committing at the same moment —
/// `<stem>-<sha8>.<domain>.<ext>`, then `<stem>-<sha8>-2.<domain>.<ext>`, …, where sha8 starts the input's
/// SHA-256. Nothing is ever replaced unless `replaceable` says the name is ours (`--overwrite`, or the watcher's
/// own output from an interrupted attempt). Companions (`.compare`, `.face2`, …) follow their main output's name.
enum OutputCommit {
    /// How many `-sha8-N` names are tried before giving up.
    static let maxAlternatives = 100

    /// Commits `target` and its companions; returns every final path written. On error the temporaries are left
    /// for the caller's cleanup (`cleanUp`).
    static func commit(_ target: OutputTarget, inputSHA256: String, replaceable: (String) -> Bool) throws -> [String] {
        guard FileOps.isRegularFile(target.writePath) else {
            throw PipelineError.io(path: target.finalPath, problem: "the editor produced no \(target.domain) output")
        }
        let final = try commitOne(target.writePath, preferred: target.finalPath, domain: target.domain,
                                  sha: inputSHA256, replaceable: replaceable)
        var written = [final]
        for tag in companionTags(of: target) {
            let preferred = OutputTarget.companionFinalPath(final, tag)
            written.append(try commitOne(target.companionWritePath(tag), preferred: preferred, domain: "\(target.domain).\(tag)",
                                         sha: inputSHA256, replaceable: replaceable))
        }
        return written
    }

    /// The companions the processor wrote: `compare`, then `face2`, `face3`, … while they exist.
    static func companionTags(of target: OutputTarget) -> [String] {
        var tags = [String]()
        if FileOps.isRegularFile(target.companionWritePath(OutputTarget.compareTag)) { tags.append(OutputTarget.compareTag) }
        var k = 2
        while FileOps.isRegularFile(target.companionWritePath(OutputTarget.faceTag(k))) {
            tags.append(OutputTarget.faceTag(k))
            k += 1
        }
        return tags
    }

    /// Removes whatever temporaries of `target` remain (after an error, or a name that could not be committed).
    static func cleanUp(_ target: OutputTarget) {
        for tag in companionTags(of: target) { unlink(target.companionWritePath(tag)) }
        unlink(target.writePath)
    }

    /// Commits one temporary under `preferred` or the first free alternative name.
    static func commitOne(_ temp: String, preferred: String, domain: String, sha: String,
                          replaceable: (String) -> Bool) throws -> String {
        for candidate in alternatives(of: preferred, domainSuffix: domain, sha: sha) {
            do {
                try FileOps.commit(temporary: temp, to: candidate, replacing: replaceable(candidate))
                return candidate
            } catch let error as FileSystemError where error.code == EEXIST {
                continue
            }
        }
        throw PipelineError.io(path: preferred, problem: "this name and \(maxAlternatives) alternatives are all taken")
    }

    /// `preferred`, then the `-sha8`, `-sha8-2`, … names: the tag goes before `.<domain>.<ext>`.
    static func alternatives(of preferred: String, domainSuffix: String, sha: String) -> [String] {
        let url = URL(fileURLWithPath: preferred)
        let ext = url.pathExtension
        let suffix = ".\(domainSuffix)" + (ext.isEmpty ? "" : ".\(ext)")
        guard preferred.hasSuffix(suffix) else { return [preferred] }
        let base = String(preferred.dropLast(suffix.count))
        let tag = String(sha.prefix(8))
        return [preferred] + (1...maxAlternatives).map { i in base + "-" + tag + (i == 1 ? "" : "-\(i)") + suffix }
    }
}
