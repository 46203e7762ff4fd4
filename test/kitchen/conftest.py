"""The Kitchen verifier reuses the lab's host checks: test/integration is put on sys.path so
that `verifiers` imports here exactly as it does in the lab's tests."""

import pathlib
import sys

INTEGRATION = str(pathlib.Path(__file__).resolve().parents[1] / "integration")
if INTEGRATION not in sys.path:
    sys.path.insert(0, INTEGRATION)
