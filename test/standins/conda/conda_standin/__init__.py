"""conda_standin: the `conda` of the Miniforge stand-in (test equipment, NOT conda).

A subset of conda's command line with conda's arguments, exit codes and JSON output,
realised with Python virtual environments and pip (see STANDIN.txt and the README of
test/standins/conda in the formulas' source tree).
"""

import json
from pathlib import Path

_HERE = Path(__file__).resolve().parent
try:
    BUILD = json.loads((_HERE / "_build.json").read_text())
except OSError:  # running from the source tree
    BUILD = {"miniforge_version": "0.0.0-0", "conda_version": "0.0.0", "pip_version": "?"}

CONDA_VERSION = BUILD["conda_version"]
STANDIN_NOTE = ("Miniforge stand-in: NOT conda. Environments are Python "
                f"{BUILD.get('python', '3.11')} virtualenvs filled by pip from the channels' "
                "package indexes; no solver, no non-Python packages.")
