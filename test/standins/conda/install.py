"""Second stage of the Miniforge stand-in installer (run by the .sh header with the host's
CPython 3.11): make <prefix> look like a Miniforge installation.

    python3.11 -I install.py --prefix PREFIX --payload DIR [--reinstall 0|1] [--installer SH]

<prefix> becomes a virtualenv of this interpreter (the base environment) with pip,
packaging and PyYAML unpacked from the wheels in the payload, the stand-in's conda package,
bin/conda, condabin/conda, bin/activate, etc/profile.d/conda.sh, .condarc, conda-meta/
(history and records), envs/ and pkgs/ (pip unpacked there: it is linked into every
environment).  With --reinstall 1 (the installer's -u/-f on an existing prefix) the
environments, the package cache and conda-meta/history are kept.
"""

import argparse
import json
import os
import platform
import shutil
import sys
import venv
import zipfile
from pathlib import Path

PYTHON_DIR = f"python{sys.version_info[0]}.{sys.version_info[1]}"
CONDARC = "channels:\n  - conda-forge\n"
ENTRY = """#!{python}
# -*- coding: utf-8 -*-
import sys

from {module} import {func}

if __name__ == "__main__":
{pre}    sys.exit({func}())
"""


def write(path, text, mode=0o644):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def project_of(wheel):
    return wheel.name.split("-")[0]


def remove_installed(site, project):
    """Remove an earlier unpacked copy of a project (the files its RECORD lists)."""
    key = project.lower().replace("-", "_")
    for info in site.glob("*.dist-info"):
        if info.name.split("-")[0].lower().replace("-", "_") != key:
            continue
        record = info / "RECORD"
        dirs = set()
        if record.is_file():
            for line in record.read_text().splitlines():
                rel = line.split(",")[0]
                target = (site / rel).resolve()
                if rel and target.is_file() and site.resolve() in target.parents:
                    target.unlink()
                    dirs.update(p for p in target.parents if site.resolve() in p.parents)
        shutil.rmtree(info, ignore_errors=True)
        for path in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
            shutil.rmtree(path / "__pycache__", ignore_errors=True)
            try:
                path.rmdir()
            except OSError:
                pass


def unpack(wheel, target):
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.infolist():
            dest = (target / member.filename).resolve()
            if not str(dest).startswith(str(target.resolve())):
                raise SystemExit(f"unsafe path in {wheel.name}: {member.filename}")
        archive.extractall(target)
    for info in target.glob("*.dist-info"):
        (info / "INSTALLER").write_text("conda\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--payload", required=True)
    parser.add_argument("--reinstall", default="0")
    parser.add_argument("--installer", default="Miniforge3.sh")
    args = parser.parse_args()
    prefix = Path(args.prefix).resolve()
    payload = Path(args.payload)
    build = json.loads((payload / "build.json").read_text())
    reinstall = args.reinstall == "1"

    print("Creating the base environment (a virtualenv of "
          f"{os.path.realpath(sys.executable)}) ...")
    venv.EnvBuilder(symlinks=True, with_pip=False).create(str(prefix))
    for name in ("activate.csh", "activate.fish", "Activate.ps1"):
        (prefix / "bin" / name).unlink(missing_ok=True)
    site = prefix / "lib" / PYTHON_DIR / "site-packages"
    site.mkdir(parents=True, exist_ok=True)
    python = prefix / "bin" / "python"
    pkgs = prefix / "pkgs"
    pkgs.mkdir(exist_ok=True)
    (prefix / "envs").mkdir(exist_ok=True)

    print("Installing the base packages ...")
    wheels = sorted((payload / "wheels").glob("*.whl"))
    for wheel in wheels:
        remove_installed(site, project_of(wheel))
        unpack(wheel, site)
        if project_of(wheel).lower() == "pip":
            cached = pkgs / wheel.name[: -len(".whl")]
            shutil.rmtree(cached, ignore_errors=True)
            unpack(wheel, cached)
            for script in ("pip", "pip3", f"pip{sys.version_info[0]}.{sys.version_info[1]}"):
                write(prefix / "bin" / script,
                      ENTRY.format(python=python, module="pip._internal.cli.main",
                                   func="main", pre=""), 0o755)
    shutil.rmtree(site / "conda_standin", ignore_errors=True)
    shutil.copytree(payload / "conda_standin", site / "conda_standin",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    build["python"] = platform.python_version()
    write(site / "conda_standin" / "_build.json", json.dumps(build, indent=2, sort_keys=True))

    for where in ("bin", "condabin"):
        write(prefix / where / "conda", ENTRY.format(python=python, module="conda_standin.cli",
                                                     func="main", pre=""), 0o755)
    write(prefix / "bin" / "conda-env",
          ENTRY.format(python=python, module="conda_standin.cli", func="main",
                       pre="    sys.argv.insert(1, 'env')\n"), 0o755)
    conda_sh = (payload / "conda.sh.in").read_text().replace("@ROOT@", str(prefix))
    write(prefix / "etc" / "profile.d" / "conda.sh", conda_sh)
    write(prefix / "bin" / "activate",
          f'#!/bin/sh\n. "{prefix}/etc/profile.d/conda.sh"\nconda activate "$@"\n', 0o755)
    write(prefix / "bin" / "deactivate",
          f'#!/bin/sh\n. "{prefix}/etc/profile.d/conda.sh"\nconda deactivate\n', 0o755)
    write(prefix / ".condarc", CONDARC)
    shutil.copy2(payload / "STANDIN.txt", prefix / "STANDIN.txt")

    # conda-meta: records of the base packages and a history block, as conda writes them.
    sys.path.insert(0, str(site))
    from conda_standin import prefix as prefix_mod
    from conda_standin.config import Channel

    forge = Channel("conda-forge", "conda-forge", "https://conda.anaconda.org/conda-forge")
    pd = prefix_mod.PrefixData(str(prefix))
    if not reinstall:
        shutil.rmtree(pd.meta, ignore_errors=True)
    os.makedirs(pd.meta, exist_ok=True)
    records = [
        prefix_mod.make_record("python", platform.python_version(), forge, "linux-64",
                               kind="runtime", url=f"file://{os.path.realpath(sys.executable)}"),
        prefix_mod.make_record("conda", build["conda_version"], forge, "noarch",
                               kind="runtime", url=f"file://{args.installer}"),
    ]
    dists = prefix_mod.distributions(str(prefix))
    for _key, dist in sorted(dists.items()):
        records.append(prefix_mod.make_record(dist.name, dist.version, forge, dist.subdir,
                                              pypi_name=dist.pypi,
                                              depends=[str(r) for r in dist.requires]))
    for rec in records:
        pd.write_record(rec)
    pd.history_append([args.installer, "-b", "-p", str(prefix), "(Miniforge stand-in "
                       "installer)"], linked=[prefix_mod.history_line(r) for r in records],
                      update_specs=[r["name"] for r in records])
    print(f"Miniforge stand-in {build['miniforge_version']} (conda {build['conda_version']}) "
          f"installed in {prefix}")


if __name__ == "__main__":
    main()
