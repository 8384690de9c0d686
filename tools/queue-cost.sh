#!/usr/bin/env bash
# What the PostgreSQL queue costs a photo against the local ledger (issue 19): one worker edits the same photos
# with and without --queue; the whole command is timed, 3 runs each.
#
#   tools/queue-cost.sh POSTGRES_ADMIN_URL [PHOTOS=100]
#
# POSTGRES_ADMIN_URL names a server where a scratch database `nada_queue_cost` may be created and dropped (the URL's
# own database is only used to connect, e.g. postgres://postgres@localhost:54340/postgres?host=/tmp/pg). Uses the
# release build (swift build -c release --product nada-edit), the demo's tiny models (made here with `nada-edit demo`)
# and generated 64x64 PNGs, so the edit itself is short and the queue's share is as large as it gets.
set -euo pipefail
cd "$(dirname "$0")/.."
admin=${1:?usage: tools/queue-cost.sh POSTGRES_ADMIN_URL [PHOTOS]}
count=${2:-100}
bin=$PWD/.build/release/nada-edit
work=$(mktemp -d /tmp/nada-queue-cost.XXXXXX)
trap 'rm -rf "$work"' EXIT
export NADA_EDIT_MODELS=$work/demo/models
"$bin" demo --output "$work/demo" --fixtures "$PWD/fixtures" >/dev/null 2>&1
python3 - "$work/photos" "$count" <<'PY'
import os, struct, sys, zlib
folder, count = sys.argv[1], int(sys.argv[2])
os.makedirs(folder)
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
for i in range(count):  # distinct contents: the queue keys photos by SHA-256
    rows = b"".join(b"\0" + bytes((x * 3 + y * 5 + i * 7 + c * 11) % 256 for x in range(64) for c in range(3)) for y in range(64))
    with open(f"{folder}/p{i:04d}.png", "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
PY
# The scratch database's URL: the admin URL with its database replaced.
queue=$(python3 -c 'import re,sys; print(re.sub(r"^(postgres(?:ql)?://[^/]*/)[^?]*", r"\1nada_queue_cost", sys.argv[1]))' "$admin")
seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
for run in 1 2 3; do
    rm -rf "$work/out-local" "$work/out-queue"
    local_s=$(seconds "$bin" edit "$work/photos" --domain sketch --align center --output "$work/out-local" --no-report --threads 1)
    psql "$admin" -q -c "DROP DATABASE IF EXISTS nada_queue_cost" -c "CREATE DATABASE nada_queue_cost" >/dev/null 2>&1
    "$bin" queue init "$queue" >/dev/null
    queue_s=$(seconds "$bin" edit "$work/photos" --domain sketch --align center --output "$work/out-queue" --no-report --threads 1 --queue "$queue")
    echo "run $run: local ledger $local_s s, --queue $queue_s s ($(ls "$work/out-local" | wc -l) / $(ls "$work/out-queue" | wc -l) outputs)"
done
psql "$admin" -q -c "DROP DATABASE IF EXISTS nada_queue_cost" >/dev/null
