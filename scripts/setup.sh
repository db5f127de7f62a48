#!/usr/bin/env bash
# Install everything pyctr needs on a Debian 12 machine, as root: system packages,
# a virtualenv in .venv, and pyctr itself (editable). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
    echo "setup.sh: run as root (pyctr drives namespaces, cgroups, mounts and iptables)" >&2
    exit 1
fi

packages=(python3 python3-venv python3-dev busybox-static iptables iproute2 procps util-linux docker-registry apache2-utils tmux librsvg2-bin)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup.sh: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
