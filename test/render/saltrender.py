"""Render the formulas with Salt itself: ``salt-call --local`` against the repository's
file_roots and a test pillar, as a given minion id."""

import json
import pathlib
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
HERE = pathlib.Path(__file__).resolve().parent
SALT_CALL = pathlib.Path(sys.executable).with_name("salt-call")


class RenderError(Exception):
    pass


class Minion:
    """One minion id rendering against one pillar tree, masterless."""

    def __init__(self, workdir, pillar_root, minion_id, mine=None):
        self.workdir = pathlib.Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = {
            "id": minion_id,
            "file_client": "local",
            "root_dir": str(self.workdir / "root"),
            "file_roots": {"base": [str(ROOT), str(HERE / "templates")]},
            "pillar_roots": {"base": [str(pillar_root)]},
            "module_dirs": [str(ROOT / "_modules"), str(HERE / "fake_mine")],
            "utils_dirs": [str(ROOT / "_utils")],
            "states_dirs": [str(ROOT / "_states")],
            "fake_mine_file": str(self.workdir / "mine.json"),
            "log_level_logfile": "warning",
            # Render tests must never touch this machine: grains are fixed to a Debian 12 host.
            "grains": {"os_family": "Debian", "os": "Debian", "osfinger": "Debian-12"},
        }
        (self.workdir / "minion").write_text(yaml.safe_dump(config))
        (self.workdir / "mine.json").write_text(json.dumps({"clustermap.node": mine or {}}))

    def call(self, *args):
        proc = subprocess.run(
            [str(SALT_CALL), "--local", "-c", str(self.workdir), "--out", "json", *args],
            capture_output=True, text=True, timeout=120,
        )
        try:
            out = json.loads(proc.stdout)["local"]
        except (ValueError, KeyError):
            raise RenderError(f"salt-call {args}: rc={proc.returncode}\n{proc.stdout}\n"
                              f"{proc.stderr}") from None
        if proc.returncode != 0 or isinstance(out, list):
            raise RenderError("\n".join(out) if isinstance(out, list) else str(out))
        return out

    def show_sls(self, sls):
        return self.call("state.show_sls", sls)

    def files(self, formula="zookeeper"):
        """A formula's rendered files for this minion (see templates/<formula>_files.jinja)."""
        return json.loads(self.call("slsutil.renderer", f"path=salt://{formula}_files.jinja",
                                    "default_renderer=jinja"))
