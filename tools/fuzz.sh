#!/usr/bin/env bash
# Coverage-guided fuzzing of nada-edit's readers of untrusted bytes with libFuzzer + AddressSanitizer (issue 18).
#
#   tools/fuzz.sh [SECONDS] [TARGET...]    # default: 120 seconds each, every target
#
# Targets (fuzz/Sources/<target>/): fuzz-loader (checkpoint loader: zip, legacy pickle, TorchScript,
# safetensors, npy/npz), fuzz-image (JPEG/PNG decoders through the libjpeg/libpng C shim, EXIF orientation),
# fuzz-provenance (XMP/EXIF/PNG-text provenance reader), fuzz-tokenizer (CLIP tokenizer, demo vocabulary).
#
# The fuzz package (fuzz/, depends on this one by path) is built with
#   swift build -c release --sanitize=fuzzer --sanitize=address --package-path fuzz (+ coverage flags, see below)
# which instruments the Swift targets and the C shims (CImageCodecs with clang's -fsanitize=fuzzer-no-link,address);
# the Debian libraries (libjpeg, libpng, libexif, zlib) are not instrumented.
# Seed corpora come from fixtures/ and from fuzz-seeds (our own JPEG/PNG outputs with provenance); corpora grow in
# fuzz/corpus/<target> (git-ignored). Each target first replays fixtures/fuzz-regressions/<target>/ (inputs that
# crashed once and were fixed). A crash leaves its input in fuzz/artifacts/<target>/ and fails the script.
# Environment: FUZZ_JOBS is not used; targets run one after another (the machine is shared). Extra libFuzzer
# flags can be passed in FUZZ_FLAGS (e.g. FUZZ_FLAGS=-runs=1000000).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

seconds=${1:-120}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(fuzz-loader fuzz-image fuzz-provenance fuzz-tokenizer)

export LSAN_OPTIONS="suppressions=$root/tools/lsan-suppressions.txt"
# malloc_context_size=4 (default 30): the tokenizer target spent ~18 % of its time recording and storing every
# allocation's full stack (perf: StackDepot Put + UnwindFast); 4 frames still name the allocating function.
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=0:malloc_context_size=4"

# SwiftPM passes -sanitize=fuzzer and -sanitize=address to swiftc as two flags, and swiftc keeps only the last
# -sanitize (checked with swiftc 6.3: the Swift objects had ASan but no coverage counters, and libFuzzer said "no
# interesting inputs"); clang combines them. So the coverage libFuzzer needs is asked for explicitly.
coverage=(-Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp)

build() {
    swift build -c release --sanitize=fuzzer --sanitize=address "${coverage[@]}" --package-path fuzz --product "$1" >&2
    echo "$root/fuzz/.build/release/$1"
}

seed() {
    local target=$1 corpus=$root/fuzz/corpus/$1
    mkdir -p "$corpus"
    case "$target" in
        fuzz-loader)
            # Every checkpoint-like fixture under 64 KB (bigger ones only slow each execution down).
            find fixtures/formats fixtures/directions fixtures/clip-tokenizer fixtures/clip-preprocess -type f \
                \( -name '*.pt' -o -name '*.npy' -o -name '*.npz' -o -name '*.safetensors' \) -size -64k \
                -exec cp -n {} "$corpus/" \;
            # The TensorFlow network pickle (TF StyleGAN2 layout, ~100 KB).
            cp -n fixtures/tf_stylegan2/*.pkl "$corpus/" ;;
        fuzz-image|fuzz-provenance)
            find fixtures/images fixtures/align -type f -name '*.png' -size -64k -exec cp -n {} "$corpus/" \;
            NADA_FUZZ_SEEDS=$corpus "$(build fuzz-seeds)" >&2 ;;
        fuzz-tokenizer)
            # One prompt per file: the tokenizer cases, the prompts and ImageNet templates.
            local n=0
            while IFS= read -r line; do
                n=$((n + 1)); printf '%s' "$line" > "$corpus/seed-$n.txt"
            done < <(cat fixtures/clip-tokenizer/tokenizer_cases.jsonl fixtures/clip-tokenizer/prompts.json \
                         fixtures/clip-tokenizer/imagenet_templates.json | head -n 400) ;;
    esac
}

status=0
summary=()
for target in "${targets[@]}"; do
    binary=$(build "$target")
    seed "$target"
    artifacts=$root/fuzz/artifacts/$target
    mkdir -p "$artifacts"
    regressions=$root/fixtures/fuzz-regressions/$target
    if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions")" ]; then
        echo "== $target: replaying $(ls "$regressions" | wc -l) regression input(s)" >&2
        "$binary" -runs=0 "$regressions"/* >/dev/null 2>&1 || { echo "$target: a regression input fails again" >&2; status=1; }
    fi
    log=$root/fuzz/artifacts/$target.log
    echo "== $target: fuzzing for $seconds s (log $log)" >&2
    set +e
    # shellcheck disable=SC2086
    "$binary" "$root/fuzz/corpus/$target" -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=10 \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/" ${FUZZ_FLAGS:-} >"$log" 2>&1
    rc=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    line="$target: ${execs:-?} executions (${rate:-?}/s), corpus $(ls "$root/fuzz/corpus/$target" | wc -l) files, exit $rc"
    [ $rc -eq 0 ] || { line="$line -- FAILED, see $log and $artifacts/"; status=1; }
    # A fuzz/.build made before the coverage flags above keeps uninstrumented Swift objects (seen once: SwiftPM
    # did not recompile the dependency's modules); libFuzzer then runs blind.
    if grep -q "no interesting inputs were found" "$log"; then
        line="$line -- NO COVERAGE: the Swift code is not instrumented; rm -rf fuzz/.build and run again"; status=1
    fi
    summary+=("$line")
done
printf '%s\n' "${summary[@]}"
exit $status
