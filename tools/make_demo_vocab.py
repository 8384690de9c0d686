"""Writes fixtures/demo/bpe_demo_vocab.txt.gz: a small byte-level BPE vocabulary in the layout of CLIP's
bpe_simple_vocab_16e6.txt.gz (a header line, then one "left right" merge per line in rank order, gzipped), learnt
from the short English text below, which was written for this project. `nada-edit demo` tokenizes its prompts with
it so that the repository runs end to end without OpenAI's vocabulary file; real runs still need that file.

Standard library only, deterministic (same bytes on every run):
    python3 tools/make_demo_vocab.py            # (re)write the file
    python3 tools/make_demo_vocab.py --check    # exit 1 if the committed file differs from a fresh one

How the merges are learnt (Sennrich et al.'s BPE, as CLIP's tokenizer applies it):
  * the text is lowercased and split like CLIP's pre-tokenizer: contractions, runs of letters, single digits,
    runs of other non-space characters (the text is ASCII, so [a-z] stands for \\p{L} and [0-9] for \\p{N});
  * each word is mapped byte by byte through CLIP's bytes_to_unicode table and split into symbols, the last one
    carrying "</w>", exactly as SimpleTokenizer.bpe starts;
  * MERGES times: count adjacent symbol pairs over all words (weighted by word frequency), merge the most frequent
    pair everywhere; ties go to the pair that sorts first, so the order never depends on dict iteration.
The vocabulary a loader builds from the file is 256 byte symbols + 256 byte symbols with "</w>" + one token per
merge + <|startoftext|>, <|endoftext|> = 512 + MERGES + 2 ids, far inside the 49408 rows of any CLIP's token
embedding (the tiny fixture CLIP's included).
"""
import gzip
import io
import re
import sys
from collections import Counter
from pathlib import Path

MERGES = 300
OUTPUT = Path(__file__).resolve().parent.parent / "fixtures" / "demo" / "bpe_demo_vocab.txt.gz"
HEADER = "#version: 0.2 - nada-edit demo vocabulary (tools/make_demo_vocab.py), not OpenAI's"

# Written for this project: the words the demo's prompts and CLIP's prompt templates use, in plain sentences.
TEXT = """
nada-edit trains a new domain for an image generator from two short texts: a photo becomes a sketch.
the demo takes a photo of a face, a photo of a cat and a photo of an astronaut, and draws each one as a sketch.
a pencil sketch of a person is a drawing, and a drawing of the cat is a sketch of the cat.
a painting of a face, a rendering of a face, a sculpture of a face: each is art of a face.
a bad photo of the face is blurry, dark or cropped; a good photo of the face is bright and clean.
a black and white photo of the astronaut looks like a pencil drawing of the astronaut.
the cartoon cat, the toy cat, the plastic cat and the plushie cat are not photos of a real cat.
a photo of a small cat, a photo of a large cat, a photo of a weird cat and a photo of a nice cat.
a low resolution photo is pixelated; a jpeg corrupted photo is blocky; a close-up photo is sharp.
graffiti of a face on a wall, a tattoo of a face on an arm, an embroidered face on a shirt.
a doodle of the face in a video game, an origami cat, a rendition of the astronaut in the style of a sketch.
the photo of my cat is a photo of one cat; itap of my cat means i took a picture of my cat.
a photo of the hard to see cat, a photo of a dirty cat, a photo of the cool cat.
the encoder inverts each photo, the generator renders it again, and the sketch domain changes its style.
every output records where it came from: the input, the models, the domain and the prompts.
the watched folder is edited once: a photo dropped into the folder is drawn as a sketch, exactly once.
training takes a few iterations with a tiny model, so the images are abstract, not faces.
""".strip()

WORD = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d|[a-z]+|[0-9]|[^\sa-z0-9]+")


def bytes_to_unicode():
    """CLIP's table: printable bytes map to themselves, the other 68 to U+0100 onwards, in byte order."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + list(range(ord("\xae"), ord("\xff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def learn_merges(text, count):
    assert text.isascii(), "the corpus must be ASCII (the word pattern stands in for \\p{L} / \\p{N} only there)"
    table = bytes_to_unicode()
    words = Counter(WORD.findall(" ".join(text.lower().split())))
    # Each word as a tuple of symbols, the last marked with </w>.
    corpus = {}
    for word, freq in words.items():
        symbols = [table[b] for b in word.encode("utf-8")]
        corpus[tuple(symbols[:-1]) + (symbols[-1] + "</w>",)] = freq
    merges = []
    while len(merges) < count:
        pairs = Counter()
        for symbols, freq in corpus.items():
            for pair in zip(symbols, symbols[1:]):
                pairs[pair] += freq
        if not pairs:
            sys.exit(f"the text allows only {len(merges)} merges, fewer than {count}: write more text")
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append(best)
        merged = {}
        for symbols, freq in corpus.items():
            out, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    out.append(symbols[i] + symbols[i + 1])
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            merged[tuple(out)] = merged.get(tuple(out), 0) + freq
        corpus = merged
    return merges


def file_bytes():
    lines = [HEADER] + [f"{a} {b}" for a, b in learn_merges(TEXT, MERGES)]
    raw = ("\n".join(lines) + "\n").encode("utf-8")
    out = io.BytesIO()
    # mtime 0 and no file name in the gzip header: the bytes depend only on the merges.
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(raw)
    return out.getvalue()


def main():
    data = file_bytes()
    if "--check" in sys.argv[1:]:
        if not OUTPUT.exists() or OUTPUT.read_bytes() != data:
            sys.exit(f"{OUTPUT} differs from what tools/make_demo_vocab.py makes; rerun it without --check")
        print(f"{OUTPUT}: up to date ({MERGES} merges)")
        return
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_bytes(data)
    print(f"wrote {OUTPUT} ({MERGES} merges, {len(data)} bytes)")


if __name__ == "__main__":
    main()
