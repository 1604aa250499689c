#!/usr/bin/env bash
# Screenshots a report.html in headless Chromium (Debian's `chromium`; apt-get install -y chromium).
# usage: scripts/screenshot-report.sh OUTDIR/report.html docs/report.png [width,height]
set -euo pipefail
html=$(realpath "$1"); png=$2; size=${3:-1200,2200}
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$profile" --hide-scrollbars \
  --window-size="$size" --screenshot="$png" "file://$html" 2>/dev/null
echo "wrote $png"
