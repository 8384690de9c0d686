#!/bin/sh
# Regenerates man/nada-edit.1 from the command definitions (ArgumentParser's --experimental-dump-help of a debug
# build of nada-edit) and the hand-written prose in man/prose/. Run from anywhere; Tests/PipelineTests/
# ManPageTests.swift fails until the committed page matches what this writes.
# CONFIG=release tools/generate-man.sh uses a release build instead (the dump is the same; saves a debug build).
set -eu
config=${CONFIG:-debug}
cd "$(dirname "$0")/.."
swift build -c "$config" --product nada-edit >&2
swift build -c "$config" --product nada-man >&2
bin=$(swift build -c "$config" --show-bin-path)
dump=$(mktemp "${TMPDIR:-/tmp}/nada-edit-dump.XXXXXX")
trap 'rm -f "$dump"' EXIT
"$bin/nada-edit" --experimental-dump-help > "$dump"
"$bin/nada-man" --dump "$dump" --version "$("$bin/nada-edit" --version)" --prose man/prose --output man/nada-edit.1
echo "wrote man/nada-edit.1" >&2
