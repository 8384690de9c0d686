#!/usr/bin/env bash
# Screenshot of a nada-edit report page (report.html of a training run, index.html of an edit folder) with
# headless Chromium (Debian package `chromium`), to see what a user sees. Used by Tests/PipelineTests/ReportTests.swift.
#
#   tools/screenshot_report.sh PAGE.html OUT.png [WIDTH HEIGHT]    (default 1280 x 1600)
#
# Exit 77 (and a message) when chromium is not installed: the caller skips. The page is opened from the file
# system with networking off (--proxy-server to nowhere), so a page that needed the network would show it.
set -euo pipefail
if [ $# -lt 2 ]; then echo "usage: $0 PAGE.html OUT.png [WIDTH HEIGHT]" >&2; exit 64; fi
page=$1 out=$2 width=${3:-1280} height=${4:-1600}
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
    echo "chromium is not installed (Debian: apt-get install chromium); no screenshot taken" >&2
    exit 77
fi
if [ ! -f "$page" ]; then echo "$page: no such page" >&2; exit 66; fi
abs=$(cd "$(dirname "$page")" && pwd)/$(basename "$page")
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# --no-sandbox: CI and this tool run as root, where Chromium's sandbox refuses to start.
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --user-data-dir="$profile" \
    --proxy-server=127.0.0.1:9 --allow-file-access-from-files \
    --window-size="$width,$height" --screenshot="$out" "file://$abs" >"$profile/log" 2>&1 || {
    cat "$profile/log" >&2; exit 1; }
[ -s "$out" ] || { echo "chromium wrote no screenshot" >&2; cat "$profile/log" >&2; exit 1; }
echo "$out"
