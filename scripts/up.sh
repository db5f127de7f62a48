#!/usr/bin/env bash
# The main job: set up, start pyctrd in the background if it is not running, make
# a busybox image from Debian's busybox-static if there is no image yet, then open
# pyctr-tui on a terminal (PYCTR_NO_TUI=1 to skip), else show the images.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

export PYCTR_HOST="${PYCTR_HOST:-unix:///var/run/pyctr.sock}"
if ! .venv/bin/pyctr version >/dev/null 2>&1; then
    mkdir -p /var/log
    echo "Starting pyctrd (log: /var/log/pyctrd.log)"
    nohup .venv/bin/pyctrd -H "$PYCTR_HOST" >>/var/log/pyctrd.log 2>&1 &
    for _ in $(seq 100); do
        .venv/bin/pyctr version >/dev/null 2>&1 && break
        sleep 0.1
    done
    .venv/bin/pyctr version >/dev/null || { echo "pyctrd did not start; see /var/log/pyctrd.log" >&2; exit 1; }
fi

if [ -z "$(.venv/bin/pyctr images -q)" ]; then
    echo "Importing busybox:latest from /bin/busybox"
    .venv/bin/python scripts/mkimage-busybox.py | .venv/bin/pyctr import - busybox:latest
fi
if [ -t 0 ] && [ -t 1 ] && [ -z "${PYCTR_NO_TUI:-}" ]; then
    # On a terminal the main command ends in the full-screen manager (q quits).
    exec .venv/bin/pyctr-tui
fi
.venv/bin/pyctr images
echo
echo "pyctrd is listening on $PYCTR_HOST. Try: .venv/bin/pyctr run busybox echo hello"
echo "On a terminal: .venv/bin/pyctr-tui (the full-screen manager)"
