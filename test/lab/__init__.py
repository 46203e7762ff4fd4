"""storm-sklearn-lab: real booted hosts (systemd-nspawn) on one machine, a real Salt
master and minions, package mirrors on a private bridge. See README.md."""

from .lab import Lab
from .mirrors import wheelhouse_add
from .util import LabError

__all__ = ["Lab", "LabError", "wheelhouse_add"]
