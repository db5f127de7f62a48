#!/usr/bin/env bash
# Set up, then run the whole test suite as root on the real kernel. Test files run in
# parallel (pytest-xdist, one file per worker at a time: each test daemon is independent,
# and a module's daemon stays on one worker); PYCTR_TEST_WORKERS=0 runs them in one process.
# Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
workers="${PYCTR_TEST_WORKERS:-2}"
parallel=()
if [ "$workers" != 0 ]; then
    parallel=(-n "$workers" --dist loadfile)
fi
echo "test.sh: pytest ${parallel[*]:-(one process)} $*"
started=$(date +%s)
.venv/bin/python -m pytest -q -p no:cacheprovider "${parallel[@]}" "$@"
status=$?
echo "test.sh: pytest exited with $status after $(( $(date +%s) - started )) s"
if [ $status -eq 5 ]; then
    echo "test.sh: pytest collected no tests: that is a failure here" >&2
    exit 1
fi
exit $status
