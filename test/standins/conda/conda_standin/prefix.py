"""An environment (prefix) of the stand-in: a Python venv plus conda's conda-meta/.

``conda-meta/history``        conda's history (``==> date <==`` blocks, ``+``/``-`` lines)
``conda-meta/<n>-<v>-<b>.json`` one record per package installed for a conda spec
``conda-meta/state``          conda's per-environment state (``env_vars``)
``lib/python3.11/site-packages`` the venv's distributions: the truth of what is installed

`conda list` shows a distribution with its conda record when one matches its name and
version, and as conda shows pip-installed packages otherwise (channel ``pypi``, build
``pypi_0``).  ``python`` (and ``conda`` in the base environment) have records only.
"""

import datetime
import glob
import importlib.metadata
import json
import os
import re
import shutil
import sys

from packaging.markers import UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement

from . import CONDA_VERSION
from .errors import CorruptedEnvironmentError, ValidationError
from .spec import conda_name, normalize

PYTHON_DIR = f"python{sys.version_info[0]}.{sys.version_info[1]}"
BUILD = "standin_0"
REQUIRED_RECORD_FIELDS = ("name", "version", "build")


def site_packages(prefix):
    return os.path.join(prefix, "lib", PYTHON_DIR, "site-packages")


def is_conda_environment(prefix):
    return os.path.isfile(os.path.join(prefix, "conda-meta", "history"))


def path_is_clean(prefix):
    """conda's test before `remove --all`: nothing (but trash) there."""
    if not os.path.lexists(prefix):
        return True
    try:
        return all(n.endswith(".conda_trash") for n in os.listdir(prefix))
    except OSError:
        return False


class Dist:
    def __init__(self, dist):
        self.pypi = dist.metadata["Name"]
        self.key = normalize(self.pypi)
        self.name = conda_name(self.pypi)
        self.version = dist.version
        self._dist = dist

    @property
    def requires(self):
        out = []
        for line in self._dist.requires or []:
            try:
                req = Requirement(line)
            except InvalidRequirement:
                continue
            try:
                if req.marker and not req.marker.evaluate({"extra": ""}):
                    continue
            except UndefinedEnvironmentName:
                continue
            out.append(req)
        return out

    @property
    def subdir(self):
        wheel = self._dist.read_text("WHEEL") or ""
        tags = [ln.split(":", 1)[1].strip() for ln in wheel.splitlines()
                if ln.startswith("Tag:")]
        if tags and all(t.endswith("-none-any") for t in tags):
            return "noarch"
        return "linux-64"

    def files(self):
        return [str(f) for f in (self._dist.files or [])]


def distributions(prefix):
    """{normalised PyPI name: Dist} installed in the environment's venv."""
    sp = site_packages(prefix)
    if not os.path.isdir(sp):
        return {}
    out = {}
    for dist in importlib.metadata.distributions(path=[sp]):
        try:
            d = Dist(dist)
        except (KeyError, TypeError):
            continue
        out.setdefault(d.key, d)
    return out


def record_filename(rec):
    return f"{rec['name']}-{rec['version']}-{rec['build']}.json"


def dist_fields(rec):
    """conda's PackageRecord.dist_fields_dump(): the objects of `conda list --json`."""
    return {
        "base_url": rec.get("standin", {}).get("base_url") or rec.get("channel", ""),
        "build_number": rec.get("build_number", 0),
        "build_string": rec["build"],
        "channel": rec.get("standin", {}).get("channel_name") or rec.get("channel", ""),
        "dist_name": f"{rec['name']}-{rec['version']}-{rec['build']}",
        "name": rec["name"],
        "platform": rec.get("subdir", ""),
        "version": rec["version"],
    }


def pypi_fields(dist):
    return {"base_url": "https://pypi.org/", "build_number": 0, "build_string": "pypi_0",
            "channel": "pypi", "dist_name": f"{dist.name}-{dist.version}-pypi_0",
            "name": dist.name, "platform": "pypi", "version": dist.version}


def make_record(name, version, channel, subdir, url="", depends=(), requested_spec="",
                kind="dist", pypi_name=None, files=()):
    base_url = channel.url if channel else "https://conda.anaconda.org/conda-forge"
    channel_name = channel.name if channel else "conda-forge"
    fn = f"{name}-{version}-{BUILD}.conda"
    return {
        "build": BUILD, "build_number": 0, "channel": f"{base_url}/{subdir}",
        "depends": list(depends), "files": list(files), "fn": fn, "name": name,
        "requested_spec": requested_spec, "subdir": subdir, "url": url or f"{base_url}/"
        f"{subdir}/{fn}", "version": str(version),
        "standin": {"kind": kind, "pypi_name": pypi_name, "base_url": base_url,
                    "channel_name": channel_name,
                    "note": "installed by the Miniforge stand-in with pip, not a conda "
                            "package"},
    }


class PrefixData:
    def __init__(self, prefix):
        self.prefix = os.path.abspath(prefix)
        self.meta = os.path.join(self.prefix, "conda-meta")

    # -- records ------------------------------------------------------------------------
    def records(self):
        """{name: record} of conda-meta/*.json, loaded as conda loads them."""
        out = {}
        for path in sorted(glob.glob(os.path.join(self.meta, "*.json"))):
            try:
                with open(path, encoding="utf-8") as fh:
                    data = json.load(fh)
            except (UnicodeDecodeError, ValueError):
                raise CorruptedEnvironmentError(self.prefix, path) from None
            if not isinstance(data, dict):
                raise CorruptedEnvironmentError(self.prefix, path)
            for key in REQUIRED_RECORD_FIELDS:
                if key not in data:
                    raise ValidationError(
                        f"{key}: PrefixRecord requires a {key} field. Instantiated with "
                        f"{data!r} (from {path}; conda loads every conda-meta/*.json as a "
                        "package record)")
            if os.path.basename(path) != record_filename(data):
                print(f"WARNING conda.core.prefix_data:_load_single_record: Ignoring "
                      f"malformed prefix record at: {path}", file=sys.stderr)
                continue
            out[data["name"]] = data
        return out

    def write_record(self, rec):
        os.makedirs(self.meta, exist_ok=True)
        for old in glob.glob(os.path.join(self.meta, f"{glob.escape(rec['name'])}-*.json")):
            try:
                with open(old, encoding="utf-8") as fh:
                    if json.load(fh).get("name") == rec["name"]:
                        os.unlink(old)
            except (OSError, ValueError):
                pass
        path = os.path.join(self.meta, record_filename(rec))
        with open(path + ".tmp", "w", encoding="utf-8") as fh:
            json.dump(rec, fh, indent=2, sort_keys=True)
        os.replace(path + ".tmp", path)

    def remove_record(self, name):
        for rec_name, rec in self.records().items():
            if rec_name == name:
                try:
                    os.unlink(os.path.join(self.meta, record_filename(rec)))
                except OSError:
                    pass

    # -- what is installed --------------------------------------------------------------
    def listing(self, include_pypi=True):
        """[(kind, dist_fields)] sorted by name: kind 'conda' or 'pypi'."""
        records = self.records()
        dists = distributions(self.prefix)
        entries = {}
        for rec in records.values():
            kind = rec.get("standin", {}).get("kind", "dist")
            if kind == "runtime":
                entries[rec["name"]] = ("conda", dist_fields(rec))
        by_key = {normalize(rec.get("standin", {}).get("pypi_name") or rec["name"]): rec
                  for rec in records.values()
                  if rec.get("standin", {}).get("kind", "dist") != "runtime"}
        for key, dist in dists.items():
            rec = by_key.get(key)
            if rec is not None and str(rec["version"]) == str(dist.version):
                entries[rec["name"]] = ("conda", dist_fields(rec))
            elif include_pypi:
                entries.setdefault(dist.name, ("pypi", pypi_fields(dist)))
        return [entries[k] for k in sorted(entries)]

    def conda_dists(self):
        """{pypi key: record} for distributions that are conda-recorded."""
        out = {}
        dists = distributions(self.prefix)
        for rec in self.records().values():
            st = rec.get("standin", {})
            if st.get("kind", "dist") == "runtime":
                continue
            key = normalize(st.get("pypi_name") or rec["name"])
            if key in dists and str(dists[key].version) == str(rec["version"]):
                out[key] = rec
        return out

    # -- history ------------------------------------------------------------------------
    def history_append(self, argv, linked=(), unlinked=(), update_specs=None,
                       remove_specs=None, neutered_specs=None):
        os.makedirs(self.meta, exist_ok=True)
        now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        lines = [f"==> {now} <==", "# cmd: " + " ".join(argv),
                 f"# conda version: {CONDA_VERSION}"]
        lines += [f"-{r}" for r in unlinked] + [f"+{r}" for r in linked]
        if update_specs is not None:
            lines.append(f"# update specs: {list(update_specs)!r}")
        if remove_specs is not None:
            lines.append(f"# remove specs: {list(remove_specs)!r}")
        if neutered_specs:
            lines.append(f"# neutered specs: {list(neutered_specs)!r}")
        with open(os.path.join(self.meta, "history"), "a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")

    def touch_history(self):
        os.makedirs(self.meta, exist_ok=True)
        open(os.path.join(self.meta, "history"), "a").close()

    def revisions(self):
        """conda list --revisions: [{rev, date, install, remove, ...}]."""
        path = os.path.join(self.meta, "history")
        out = []
        try:
            text = open(path, encoding="utf-8").read()
        except OSError:
            return out
        for block in re.split(r"^==> ", text, flags=re.M)[1:]:
            head, _, body = block.partition("\n")
            date = head.replace("<==", "").strip()
            rev = {"date": date, "rev": len(out), "install": [], "remove": [],
                   "upgrade": [], "downgrade": []}
            for line in body.splitlines():
                if line.startswith("+"):
                    rev["install"].append(line[1:])
                elif line.startswith("-"):
                    rev["remove"].append(line[1:])
            out.append(rev)
        return out

    # -- state (env vars) -------------------------------------------------------------
    def env_vars(self):
        try:
            with open(os.path.join(self.meta, "state"), encoding="utf-8") as fh:
                return dict(json.load(fh).get("env_vars") or {})
        except (OSError, ValueError):
            return {}

    def set_env_vars(self, variables):
        os.makedirs(self.meta, exist_ok=True)
        state = {"env_vars": {str(k): str(v) for k, v in variables.items()}}
        with open(os.path.join(self.meta, "state"), "w", encoding="utf-8") as fh:
            json.dump(state, fh, indent=2, sort_keys=True)


def history_line(rec):
    return (f"{rec.get('standin', {}).get('channel_name', 'conda-forge')}/{rec['subdir']}::"
            f"{rec['name']}-{rec['version']}-{rec['build']}")


# -- environments.txt -----------------------------------------------------------------
def environments_txt():
    return os.path.join(os.path.expanduser("~"), ".conda", "environments.txt")


def registered_envs():
    try:
        with open(environments_txt(), encoding="utf-8") as fh:
            return [ln.strip() for ln in fh if ln.strip()]
    except OSError:
        return []


def register_env(prefix):
    path = environments_txt()
    prefix = os.path.normpath(prefix)
    if prefix in registered_envs():
        return
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(prefix + "\n")
    except OSError:
        pass


def unregister_env(prefix):
    path = environments_txt()
    prefix = os.path.normpath(prefix)
    envs = registered_envs()
    if prefix not in envs:
        return
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.writelines(e + "\n" for e in envs if e != prefix)
    except OSError:
        pass


def rm_rf(path):
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)
