#!/usr/bin/env bash
# The main job: set up, start pyctrd in the background if it is not running, make
# a busybox image from Debian's busybox-static if there is no image yet, then open
# pyctr-tui on a terminal (PYCTR_NO_TUI=1 to skip), else show the images.
# scripts/down.sh stops the pyctrd this started.
#
# Where things are (each may be changed by the variable named): socket PYCTR_HOST
# (unix:///var/run/pyctr.sock), data root PYCTR_DATA_ROOT (/var/lib/pyctr), exec root
# PYCTR_EXEC_ROOT (/var/run/pyctr), log PYCTR_LOG (/var/log/pyctrd.log), pid file
# PYCTR_PIDFILE (<data root>/pyctrd.pid); PYCTRD_FLAGS: more pyctrd flags.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

export PYCTR_HOST="${PYCTR_HOST:-unix:///var/run/pyctr.sock}"
data_root="${PYCTR_DATA_ROOT:-/var/lib/pyctr}"
exec_root="${PYCTR_EXEC_ROOT:-/var/run/pyctr}"
log="${PYCTR_LOG:-/var/log/pyctrd.log}"
pidfile="${PYCTR_PIDFILE:-$data_root/pyctrd.pid}"

# GET on the daemon's API: curl on a unix socket (milliseconds), else the pyctr CLI
api() {
    case "$PYCTR_HOST" in
        unix://*) curl -sf --max-time 30 --unix-socket "${PYCTR_HOST#unix://}" "http://pyctr$1" ;;
        *) case "$1" in
               /_ping) .venv/bin/pyctr version >/dev/null && echo OK ;;
               /images/json) .venv/bin/pyctr images -q ;;
           esac ;;
    esac
}
answering() { [ "$(api /_ping 2>/dev/null)" = OK ]; }
no_images() { local out; out=$(api /images/json) && [ -z "$out" ] || [ "$out" = "[]" ]; }

if answering; then
    echo "up.sh: pyctrd is already answering on $PYCTR_HOST"
else
    mkdir -p "$(dirname "$log")"
    echo "up.sh: starting pyctrd on $PYCTR_HOST (log: $log)"
    # shellcheck disable=SC2086 # PYCTRD_FLAGS is a list of words
    nohup .venv/bin/pyctrd -H "$PYCTR_HOST" -g "$data_root" --exec-root "$exec_root" \
        --pidfile "$pidfile" ${PYCTRD_FLAGS:-} >>"$log" 2>&1 </dev/null &
    daemon=$!
    # wait for the daemon to answer (or to die), not for a number of seconds
    until answering; do
        if ! kill -0 "$daemon" 2>/dev/null; then
            echo "up.sh: pyctrd exited; the end of $log:" >&2
            tail -n 20 "$log" >&2
            exit 1
        fi
        sleep 0.1
    done
fi

if no_images; then
    echo "up.sh: importing busybox:latest from /bin/busybox"
    .venv/bin/python scripts/mkimage-busybox.py | .venv/bin/pyctr import - busybox:latest
fi
cat <<INFO
up.sh: pyctrd is listening on $PYCTR_HOST
  state: $data_root (images, containers, volumes), $exec_root (run time), pid file $pidfile
  log:   $log
  stop:  bash scripts/down.sh   (stops its containers and pyctrd; keeps the state and the log)
INFO
if [ -t 0 ] && [ -t 1 ] && [ -z "${PYCTR_NO_TUI:-}" ]; then
    # On a terminal the main command ends in the full-screen manager (q quits).
    exec .venv/bin/pyctr-tui
fi
.venv/bin/pyctr images
echo
echo "Try: .venv/bin/pyctr run busybox echo hello"
echo "On a terminal: .venv/bin/pyctr-tui (the full-screen manager)"
