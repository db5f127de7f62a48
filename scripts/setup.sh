#!/usr/bin/env bash
# Install everything pyctr and its tests need on a Debian 12 machine, as root: Debian
# packages, a virtualenv in .venv made by Debian's own /usr/bin/python3, and pyctr itself
# (editable, with its test extras). Safe to run again, and quick when nothing changed:
# one dpkg query, and no pip run while .venv's stamp matches pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
    echo "setup.sh: run as root (pyctr drives namespaces, cgroups, mounts and iptables)" >&2
    exit 1
fi

# What each is for: python3* the venv (python3-seccomp is imported through the venv's
# system site packages); busybox-static the test and demo images; iptables, iproute2,
# procps, util-linux (mount, nsenter, unshare) the drivers and tests; docker-registry and
# apache2-utils (htpasswd) the registry tests; docker.io the real docker CLI of the
# compatibility tests (and the dockerd of the benchmarks, never started here); openssl the
# TLS tests' certificates; curl the README's examples; strace the no-DNS test of
# `--default-registry none`; tini an init for containers; tmux and librsvg2-bin the TUI's
# tests and screenshots; docker-compose (1.29, with its own python3-docker) a client of
# the compatibility tests (tests/compat); python3-dnspython the DNS wire format of the
# embedded resolver of user networks.
packages=(python3 python3-venv python3-dev python3-seccomp tini busybox-static iptables iproute2
          procps util-linux docker-registry apache2-utils docker.io openssl curl strace tmux
          librsvg2-bin ca-certificates docker-compose python3-dnspython zsh)
installed=$({ dpkg-query -W -f='${Package} ${Status}\n' "${packages[@]}" 2>/dev/null || true; } \
            | awk '$NF == "installed" {print $1}')
missing=()
for p in "${packages[@]}"; do
    grep -qx "$p" <<<"$installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup.sh: installing Debian packages: ${missing[*]}"
    # docker.io's maintainer scripts would start dockerd: pyctr only needs its CLI here, so
    # no service is started during this install (policy-rc.d answers "not allowed").
    policy=/usr/sbin/policy-rc.d
    own_policy=
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy" && own_policy=1
        trap '[ -n "$own_policy" ] && rm -f "$policy"' EXIT
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    if [ -n "$own_policy" ]; then rm -f "$policy"; own_policy=; fi
else
    echo "setup.sh: Debian packages present (${#packages[@]})"
fi

# The venv must be Debian's python3 with the system site packages (python3-seccomp);
# one made by another interpreter (pyenv, a venv of a venv) is replaced.
python=/usr/bin/python3
want_home=$(dirname "$(readlink -f "$python")")
venv_ok() {
    [ -x .venv/bin/python ] && [ -f .venv/pyvenv.cfg ] || return 1
    grep -qx "home = $want_home" .venv/pyvenv.cfg || grep -qx "home = /usr/bin" .venv/pyvenv.cfg || return 1
    grep -qx "include-system-site-packages = true" .venv/pyvenv.cfg || return 1
    [ "$(.venv/bin/python -c 'import sys; print(sys.version)')" = "$("$python" -c 'import sys; print(sys.version)')" ]
}
if ! venv_ok; then
    if [ -e .venv ]; then
        echo "setup.sh: replacing .venv (not made by $python with --system-site-packages)"
        rm -rf .venv
    fi
    echo "setup.sh: creating .venv with $python ($("$python" --version))"
    "$python" -m venv --system-site-packages .venv
fi

# pip only when pyproject.toml (or the interpreter) changed since the last install from
# this tree; the stamp is written after a pip run that succeeded.
stamp=.venv/.pyctr-installed
want="$(sha256sum pyproject.toml | cut -d' ' -f1) $(readlink -f "$PWD") $(.venv/bin/python -c 'import sys; print(sys.version.split()[0])')"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x .venv/bin/pyctrd ]; then
    echo "setup.sh: pyctr is installed in .venv (pyproject.toml unchanged)"
else
    echo "setup.sh: pip install -e '.[test]' into .venv"
    .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
    echo "$want" >"$stamp"
fi
