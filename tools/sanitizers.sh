#!/usr/bin/env bash
# Sanitizer suites for nada-edit (issue 18). Not part of .ci/run's default path (which must stay under 20
# minutes): each stage is a full separate build. Run before a release or after touching unsafe code:
#
#   tools/sanitizers.sh            # all stages: asan, bench, tsan
#   tools/sanitizers.sh asan tsan  # some of them
#
#   asan   the whole test suite, release, under AddressSanitizer + LeakSanitizer (C kernels and the
#          libjpeg/libpng/dlib shims are instrumented too; the Debian libraries themselves are not).
#          Scratch path .build-asan.
#   bench  the benchmarks' shapes (nada-bench kernels, stylegan2, clip, encoders, train at their default sizes:
#          256 and 1024, batches 1 and 2), one repeat each, in fp32 and again in bf16, with the ASan build from
#          `asan`: the engine at the sizes the tests do not reach.
#   tsan   the threaded tests under ThreadSanitizer: EngineTests (parallel kernels), and the pipeline's
#          BatchRunnerTests, JobThreadsTests (photo jobs on their own threads), WatcherSafetyTests and DurableIOTests. Release, scratch path .build-tsan.
#
# Leaks that are not ours are suppressed by name in tools/lsan-suppressions.txt (each with its reason).
# Exits non-zero on the first stage that fails; logs go to .build-asan/sanitizers-*.log and .build-tsan/.
set -euo pipefail
cd "$(dirname "$0")/.."

stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(asan bench tsan)

export LSAN_OPTIONS="suppressions=$PWD/tools/lsan-suppressions.txt:print_suppressions=0"
# ASan stops at its first report (its default); leaks are checked when the test process exits.
export ASAN_OPTIONS="detect_leaks=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"

run_asan() {
    mkdir -p .build-asan
    # One `swift test` both builds and runs: `swift build --build-tests -c release` would not enable the
    # @testable imports the tests use.
    swift test -c release --sanitize=address --scratch-path .build-asan 2>&1 | tee .build-asan/sanitizers-asan.log
}

run_bench() {
    [ -x .build-asan/release/nada-bench ] || swift build -c release --sanitize=address --scratch-path .build-asan --product nada-bench
    local bench=.build-asan/release/nada-bench
    {
        "$bench" kernels --repeats 1
        "$bench" stylegan2 --repeats 1
        "$bench" clip --repeats 1
        "$bench" encoders --repeats 1
        "$bench" train --iterations 1
        # The bf16 shim (oneDNN, per-thread buffers) at the same shapes.
        "$bench" stylegan2 --repeats 1 --precision bf16
        "$bench" clip --repeats 1 --precision bf16
        "$bench" encoders --repeats 1 --precision bf16
        "$bench" train --iterations 1 --precision bf16
    } 2>&1 | tee .build-asan/sanitizers-bench.log
}

run_tsan() {
    mkdir -p .build-tsan
    swift test -c release --sanitize=thread --scratch-path .build-tsan \
        --filter 'EngineTests\.|PipelineTests\.BatchRunnerTests|PipelineTests\.JobThreadsTests|PipelineTests\.WatcherSafetyTests|DurableIOTests\.' \
        2>&1 | tee .build-tsan/sanitizers-tsan.log
}

for stage in "${stages[@]}"; do
    case "$stage" in
        asan) run_asan ;;
        bench) run_bench ;;
        tsan) run_tsan ;;
        *) echo "tools/sanitizers.sh: unknown stage '$stage' (asan, bench or tsan)" >&2; exit 2 ;;
    esac
    echo "tools/sanitizers.sh: $stage passed"
done
