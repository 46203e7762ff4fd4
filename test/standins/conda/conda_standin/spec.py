"""conda match specs, and how the stand-in turns them into pip requirements.

Accepted forms (conda's): ``name``, ``name=1.5`` (fuzzy: 1.5.*), ``name=1.5.2=build``,
``name==1.5.2`` (exact), ``name>=1.26``, ``name<81``, ``name>=1.2,<2``, ``name!=1.3``,
``name 1.5.2`` / ``name >=1.26`` (space form; a bare version is exact), ``name=1.5.*``,
``channel::name=...``, ``name[version='>=1.2']``.  Build strings are accepted and ignored
(there are no conda builds behind the stand-in).  ``|`` (or) is refused.
"""

import re
from dataclasses import dataclass

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from .errors import InvalidMatchSpec

# conda package name -> PyPI project name, where they differ.  Everything else maps to
# itself (compared PEP 503-normalised).
CONDA_TO_PYPI = {
    "pytorch": "torch",
    "pytorch-cpu": "torch",
    "matplotlib-base": "matplotlib",
    "msgpack-python": "msgpack",
    "pytables": "tables",
    "py-xgboost": "xgboost",
    "py-opencv": "opencv-python",
    "opencv": "opencv-python",
    "pyqt": "pyqt5",
    "tensorflow-base": "tensorflow",
    "typing_extensions": "typing-extensions",
    "importlib_metadata": "importlib-metadata",
    "setuptools-scm": "setuptools-scm",
    "python-kubernetes": "kubernetes",
    "graphviz-python": "graphviz",
}
PYPI_TO_CONDA = {"torch": "pytorch", "msgpack": "msgpack-python", "tables": "pytables",
                 "xgboost": "py-xgboost"}
# Provided by the stand-in itself, never pip-installed from a channel.
BUILTIN = {"python"}

NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
OPS = ("==", "!=", ">=", "<=", "~=", ">", "<", "=")


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pypi_name(conda_name):
    return CONDA_TO_PYPI.get(conda_name.lower(), conda_name.lower())


def conda_name(pypi):
    n = normalize(pypi)
    return PYPI_TO_CONDA.get(n, n)


def _clause(clause, spec_text):
    """One conda version clause -> one PEP 440 specifier."""
    clause = clause.strip()
    if not clause:
        raise InvalidMatchSpec(spec_text, "empty version constraint")
    for op in OPS:
        if clause.startswith(op):
            ver = clause[len(op):].strip()
            break
    else:
        op, ver = "", clause
    if not ver:
        raise InvalidMatchSpec(spec_text, "missing version after operator")
    star = ver.endswith("*")
    ver = ver.rstrip("*").rstrip(".")
    if op == "=" or (star and op in ("", "==")):
        return f"=={ver}.*" if ver else ""
    if op == "":
        return f"=={ver}"
    if star and op == "!=":
        return f"!={ver}.*"
    if star:
        raise InvalidMatchSpec(spec_text, f"'*' cannot follow '{op}'")
    return f"{op}{ver}"


def to_specifier(version, spec_text):
    """A conda version expression -> a packaging SpecifierSet (validated)."""
    if version is None or version.strip() in ("", "*"):
        return SpecifierSet("")
    if "|" in version:
        raise InvalidMatchSpec(spec_text, "'|' (or) in version constraints is not supported "
                               "by the Miniforge stand-in (it has no conda solver)")
    parts = [p for p in (_clause(c, spec_text) for c in version.split(",")) if p]
    try:
        return SpecifierSet(",".join(parts))
    except InvalidSpecifier as exc:
        raise InvalidMatchSpec(spec_text, str(exc)) from None


@dataclass
class MatchSpec:
    original: str
    name: str
    version: str | None = None   # the conda version expression
    build: str | None = None
    channel: str | None = None

    @classmethod
    def parse(cls, text):
        original = str(text).strip()
        if not original:
            raise InvalidMatchSpec(original, "empty spec")
        rest, channel = original, None
        if "::" in rest:
            channel, rest = rest.rsplit("::", 1)
        build = version = None
        bracket = re.match(r"^(.*?)\[(.*)\]$", rest)
        if bracket:
            rest = bracket.group(1).strip()
            for key, val in re.findall(r"(\w+)\s*=\s*(\"[^\"]*\"|'[^']*'|[^,\s]+)",
                                       bracket.group(2)):
                val = val.strip("'\"")
                if key == "version":
                    version = val
                elif key == "build":
                    build = val
                elif key == "channel":
                    channel = val
        if " " in rest.strip():
            bits = rest.split()
            name, tail = bits[0], bits[1:]
            if tail and tail[0] in OPS and len(tail) > 1:  # "numpy >= 1.26"
                tail = [tail[0] + tail[1], *tail[2:]]
            version = version or (tail[0] if tail else None)
            build = build or (tail[1] if len(tail) > 1 else None)
        else:
            m = re.search(r"[=<>!~]", rest)
            name = rest[:m.start()] if m else rest
            tail = rest[m.start():] if m else ""
            if tail.startswith("=") and not tail.startswith("=="):
                pieces = tail[1:].split("=")
                version = "=" + pieces[0]
                if len(pieces) > 1:
                    build = pieces[1]
            elif tail.startswith("==") and "=" in tail[2:]:
                version, build = "==" + tail[2:].split("=")[0], tail[2:].split("=", 1)[1]
            elif tail:
                version = tail
        name = name.strip()
        if not NAME_RE.match(name):
            raise InvalidMatchSpec(original, f"invalid package name '{name}'")
        spec = cls(original, name.lower(), version, build, channel)
        spec.specifier  # validate now  # noqa: B018
        return spec

    @property
    def specifier(self):
        return to_specifier(self.version, self.original)

    @property
    def pypi(self):
        return pypi_name(self.name)

    def requirement(self):
        """The pip requirement string for this spec."""
        return f"{self.pypi}{self.specifier}"

    def matches(self, version):
        try:
            return self.specifier.contains(Version(str(version)), prereleases=True)
        except InvalidVersion:
            return False

    def display(self):
        """How conda prints the spec in its messages (name version-expression)."""
        if not self.version:
            return self.name
        version = self.version[1:] + "*" if self.version.startswith("=") \
            and not self.version.startswith("==") else self.version
        return f"{self.name} {version}"

    def __str__(self):
        return self.original
