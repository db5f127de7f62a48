#!/usr/bin/env bash
# Stop the pyctrd that scripts/up.sh started, by its pid file: SIGTERM, so it stops its
# containers (each gets pyctrd's --shutdown-timeout, then SIGKILL), unmounts their
# filesystems and removes its bridge and iptables rules; then wait until it is gone.
# It keeps the state (images, containers, volumes) and the log; says where they are.
# The same variables as up.sh: PYCTR_DATA_ROOT, PYCTR_PIDFILE, PYCTR_LOG.
set -euo pipefail
data_root="${PYCTR_DATA_ROOT:-/var/lib/pyctr}"
pidfile="${PYCTR_PIDFILE:-$data_root/pyctrd.pid}"
log="${PYCTR_LOG:-/var/log/pyctrd.log}"

pid=$(cat "$pidfile" 2>/dev/null || true)
if [ -z "$pid" ] || ! [ -d "/proc/$pid" ]; then
    echo "down.sh: no pyctrd running (no live pid in $pidfile)"
    exit 0
fi
# a pid file outlives a crash, and its pid may be another process's by now
if ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "pyctrd\|pyctr.engine.main"; then
    echo "down.sh: pid $pid in $pidfile is not pyctrd; nothing stopped" >&2
    exit 1
fi
echo "down.sh: stopping pyctrd (pid $pid) and its containers"
kill -TERM "$pid"
while [ -d "/proc/$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "pyctrd\|pyctr.engine.main"; do
    sleep 0.1
done
echo "down.sh: pyctrd stopped; its bridge, iptables rules and container mounts are gone."
echo "  kept: $data_root (images, containers, volumes; rm -rf it to start afresh), log $log"
