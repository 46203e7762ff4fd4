"""Configuration as conda reads it: .condarc files, CONDA_* variables, channels.

Search path (lowest precedence first, as conda's): /etc/conda/.condarc, /etc/conda/condarc,
/etc/conda/condarc.d/*.yml, <root>/.condarc, <root>/condarc, <root>/condarc.d/*.yml,
$XDG_CONFIG_HOME/conda/.condarc (~/.config/conda/...), ~/.conda/.condarc, ~/.condarc,
$CONDARC.  Scalars: the last file wins; sequences (channels, envs_dirs, pkgs_dirs, ...) are
merged with the higher-precedence file's entries first; mappings (custom_channels) merge.
"""

import json
import os
import platform
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import BUILD
from .errors import CondaValueError

SUBDIR = "linux-64"
DEFAULT_CHANNEL_ALIAS = "https://conda.anaconda.org"
DEFAULT_CHANNELS = ["https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r"]
SEQUENCE_KEYS = {"channels", "default_channels", "envs_dirs", "pkgs_dirs",
                 "create_default_packages", "pinned_packages", "allowlist_channels"}
MAP_KEYS = {"custom_channels", "custom_multichannels", "proxy_servers"}
URL_RE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)
SUBDIR_SUFFIX = re.compile(r"/(linux-64|noarch|linux-aarch64|osx-64|osx-arm64|win-64)/?$")


def root_prefix():
    """The installation: this package lives in <root>/lib/python3.X/site-packages."""
    return str(Path(sys.prefix))


def _rc_candidates(root):
    home = Path(os.path.expanduser("~"))
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    out = []
    for base in (Path("/etc/conda"), Path(root)):
        out += [base / ".condarc", base / "condarc"]
        d = base / "condarc.d"
        if d.is_dir():
            out += sorted(p for p in d.iterdir() if p.suffix in (".yml", ".yaml"))
    out += [xdg / "conda" / ".condarc", xdg / "conda" / "condarc", home / ".conda" / ".condarc",
            home / ".conda" / "condarc", home / ".condarc"]
    if os.environ.get("CONDARC"):
        out.append(Path(os.environ["CONDARC"]))
    return out


def read_condarc(path):
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except OSError:
        return None
    except yaml.YAMLError as exc:
        raise CondaValueError(f"Unable to parse configuration file {path}:\n{exc}") from None
    if not isinstance(data, dict):
        raise CondaValueError(f"Configuration file {path} is not a mapping")
    return data


def _merge(sources):
    merged = {}
    for data in sources:  # lowest precedence first
        for key, value in data.items():
            key = key.replace("-", "_")
            if key in SEQUENCE_KEYS and isinstance(value, list):
                old = merged.get(key, [])
                merged[key] = list(dict.fromkeys([*value, *old]))
            elif key in MAP_KEYS and isinstance(value, dict):
                merged[key] = {**merged.get(key, {}), **value}
            else:
                merged[key] = value
    return merged


def _env_list(name):
    value = os.environ.get(name)
    if not value:
        return None
    return [v for v in re.split("[," + re.escape(os.pathsep) + "]", value) if v]


def _truthy(value):
    return str(value).strip().lower() in ("1", "true", "yes", "on")


@dataclass
class Channel:
    """A channel as conda resolves it, and where the stand-in looks for its packages."""

    spec: str            # as given: conda-forge, http://host/path, file:///dir, /dir
    name: str            # canonical name shown by conda list / history
    url: str             # the channel URL conda would fetch repodata under
    lookups: list = field(default_factory=list)  # URLs/dirs the stand-in's pip searches
    local: bool = False

    def subdir_urls(self):
        return [f"{self.url}/{SUBDIR}", f"{self.url}/noarch"]


@dataclass
class Context:
    root: str
    rc: dict
    config_files: list
    json: bool = False
    quiet: bool = False
    verbose: int = 0
    yes: bool = False
    dry_run: bool = False
    offline: bool = False
    insecure: bool = False

    @property
    def channel_alias(self):
        return str(os.environ.get("CONDA_CHANNEL_ALIAS") or self.rc.get("channel_alias")
                   or DEFAULT_CHANNEL_ALIAS).rstrip("/")

    @property
    def channels(self):
        env = _env_list("CONDA_CHANNELS")
        return env or list(self.rc.get("channels") or ["defaults"])

    @property
    def custom_channels(self):
        return {str(k): str(v).rstrip("/") for k, v in
                (self.rc.get("custom_channels") or {}).items()}

    @property
    def root_writable(self):
        return os.access(self.root, os.W_OK)

    @property
    def envs_dirs(self):
        given = _env_list("CONDA_ENVS_DIRS") or _env_list("CONDA_ENVS_PATH") \
            or self.rc.get("envs_dirs")
        home = os.path.join(os.path.expanduser("~"), ".conda", "envs")
        root = os.path.join(self.root, "envs")
        fixed = [root, home] if self.root_writable else [home, root]
        out = [os.path.abspath(os.path.expanduser(str(d))) for d in (given or [])] + fixed
        return list(dict.fromkeys(out))

    @property
    def pkgs_dirs(self):
        given = _env_list("CONDA_PKGS_DIRS") or self.rc.get("pkgs_dirs")
        if given:
            return [os.path.abspath(os.path.expanduser(str(d))) for d in given]
        home = os.path.join(os.path.expanduser("~"), ".conda", "pkgs")
        root = os.path.join(self.root, "pkgs")
        return [root, home] if self.root_writable else [home, root]

    @property
    def always_yes(self):
        return self.yes or _truthy(os.environ.get("CONDA_ALWAYS_YES", "")) \
            or bool(self.rc.get("always_yes"))

    @property
    def create_default_packages(self):
        return [str(p) for p in self.rc.get("create_default_packages") or []]

    def writable_pkgs_dir(self):
        for d in self.pkgs_dirs:
            try:
                os.makedirs(d, exist_ok=True)
            except OSError:
                continue
            if os.access(d, os.W_OK):
                return d
        return None

    def first_writable_envs_dir(self):
        for d in self.envs_dirs:
            try:
                os.makedirs(d, exist_ok=True)
            except OSError:
                continue
            if os.access(d, os.W_OK):
                return d
        raise CondaValueError("No writeable envs directories configured.\n"
                              f"  - {chr(10).join(self.envs_dirs)}")

    # -- channels ---------------------------------------------------------------------
    def resolve_channel(self, spec):
        """One channel spec -> Channel(s) ('defaults' expands to default_channels)."""
        spec = str(spec).strip()
        if spec == "defaults":
            out = []
            for sub in self.rc.get("default_channels") or DEFAULT_CHANNELS:
                out += self.resolve_channel(sub)
            return out
        if spec.startswith("file://") or spec.startswith(("/", "./", "../", "~")):
            path = spec[len("file://"):] if spec.startswith("file://") else spec
            path = os.path.abspath(os.path.expanduser(SUBDIR_SUFFIX.sub("", path)))
            return [Channel(spec, "file://" + path, "file://" + path, [path], local=True)]
        if URL_RE.match(spec):
            url = SUBDIR_SUFFIX.sub("", spec).rstrip("/")
            alias = self.channel_alias
            if url.startswith(alias + "/"):
                name = url[len(alias) + 1:]
            else:
                rest = url.split("://", 1)[1]
                name = rest.split("/", 1)[1] if "/" in rest else url
            return [Channel(spec, name, url, [url])]
        name = SUBDIR_SUFFIX.sub("", spec).strip("/")
        first = name.split("/")[0]
        base = self.custom_channels.get(first, self.channel_alias)
        url = f"{base}/{name}"
        return [Channel(spec, name, url, [url, base])]

    def resolve_channels(self, specs):
        out, seen = [], set()
        for spec in specs:
            for channel in self.resolve_channel(spec):
                if channel.url not in seen:
                    seen.add(channel.url)
                    out.append(channel)
        return out

    def channels_for(self, given=(), override=False, use_local=False):
        if override and not given and not use_local:
            raise CondaValueError("--override-channels requires -c/--channel or --use-local")
        specs = list(given or [])
        if not override:
            specs += self.channels
        return self.resolve_channels(specs)


def load(root=None):
    root = os.path.abspath(root or root_prefix())
    sources, files = [], []
    for path in _rc_candidates(root):
        if path.is_file():
            data = read_condarc(path)
            if data is not None:
                sources.append(data)
                files.append(str(path))
    return Context(root=root, rc=_merge(sources), config_files=files)


def python_version():
    return platform.python_version()


def build_info():
    return dict(BUILD)


def dumps(obj):
    return json.dumps(obj, indent=2, sort_keys=True, default=str)
