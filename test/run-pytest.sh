#!/usr/bin/env bash
# Usage: run-pytest.sh NAME [pytest args]
# Runs pytest from the project's virtualenv; "no tests collected" (exit 5) is a failure,
# never a pass.  Results also go to build/junit/NAME.xml for CI.
set -uo pipefail
VENV=${LAB_VENV:-/opt/storm-sklearn-lab/venv}
cd "$(dirname "$0")/.."
name=$1
shift
mkdir -p build/junit
echo "[test] session $name: pytest $*"
"$VENV/bin/python" -m pytest --junitxml="build/junit/$name.xml" "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "run-pytest: no tests were collected; that is a failure" >&2
  exit 1
fi
exit "$rc"
