#!/usr/bin/env bash
# The main job: set up, start pyctrd in the background if it is not running, make
# a busybox image from Debian's busybox-static if there is no image yet, show images.
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
.venv/bin/pyctr images
echo
echo "pyctrd is listening on $PYCTR_HOST. Try: .venv/bin/pyctr run busybox echo hello"
