"""What the six-host cluster needs before its first orchestrate, shared by the lab tests'
``cluster`` fixture and bench/storm.py: Apache Storm assembled from its release jars (or
STORM_SOURCE's tarball), the Miniforge stand-in (or MINIFORGE_SOURCE), the workers'
packages in the lab's mirror, and what the README asks of an operator using mine
discovery (sync the custom modules, publish the mine)."""

import os
import subprocess
import sys

# The workers' environment (conda/parameters/defaults.yaml) resolved from the lab's
# Python package mirror.
WORKER_REQUIREMENTS = ["numpy==2.4.6", "scikit-learn==1.9.1", "joblib==1.6.0",
                       "setuptools<81", "streamparse==5.0.1", "pip", "wheel"]


def prepare(lab):
    from lab import config, wheelhouse_add
    build = [sys.executable, "--out", str(config.REPO_ROOT / "build/standins")]
    if not os.environ.get("STORM_SOURCE"):
        # Apache Storm from its release jars (cached: a second build downloads nothing).
        subprocess.run([sys.executable, str(config.REPO_ROOT / "tools/storm_dist.py"),
                        "--version", os.environ.get("STORM_VERSION", "2.8.3"),
                        "--out", str(config.REPO_ROOT / "build/storm")], check=True)
    if not os.environ.get("MINIFORGE_SOURCE"):
        subprocess.run(build[:1] + [str(config.REPO_ROOT / "test/standins/build_miniforge.py")]
                       + build[1:], check=True)
    wheelhouse_add(WORKER_REQUIREMENTS)
    lab.salt_run("saltutil.sync_all", check=True)
    lab.salt("*", "saltutil.sync_all", check=True)
    lab.salt("*", "mine.update", check=True)
