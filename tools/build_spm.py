#!/usr/bin/env python3
"""
Build SPM packages of this repository: one per formula, plus one for the custom Salt
modules they share.

`spm build` packs everything under the directory it is given, and `spm local install`
installs only the package's own folder (named like the package) and Salt's `_modules`-
style folders.  So a repository of four formulas is staged as five packages: each
formula (`zookeeper`, `conda`, `sklearn_model`, `storm`) with a FORMULA of its own that
depends on `storm-sklearn-modules`, which carries `_modules/`, `_states/` and `_utils/`.  Name,
version, release and platforms come from the top-level FORMULA, summaries from
metadata.yml.

    python tools/build_spm.py [--out build/spm] [--spm PATH]
"""

import argparse
import pathlib
import shutil
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODULES_PACKAGE = "storm-sklearn-modules"
SHARED = ("_modules", "_states", "_utils")


def formula_card(name, base, summary, depends=None):
    card = {key: base[key] for key in ("version", "release", "os", "os_family",
                                       "minimum_version") if key in base}
    card.update({"name": name, "summary": summary, "description": summary})
    if depends:
        card["dependencies"] = depends
    return card


def stage(out):
    base = yaml.safe_load((ROOT / "FORMULA").read_text())
    meta = yaml.safe_load((ROOT / "metadata.yml").read_text())
    out = pathlib.Path(out)
    shutil.rmtree(out / "stage", ignore_errors=True)
    staged = {}
    for formula, summary in meta["formulas"].items():
        where = out / "stage" / formula
        shutil.copytree(ROOT / formula, where / formula,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        (where / "FORMULA").write_text(yaml.safe_dump(
            formula_card(formula, base, summary, MODULES_PACKAGE)))
        staged[formula] = where
    where = out / "stage" / MODULES_PACKAGE
    for folder in SHARED:
        shutil.copytree(ROOT / folder, where / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (where / MODULES_PACKAGE).mkdir(parents=True)
    (where / MODULES_PACKAGE / "README").write_text(
        "Custom Salt modules shared by the storm-sklearn formulas (installed under\n"
        "_modules, _states and _utils; sync them with saltutil.sync_all).\n")
    (where / "FORMULA").write_text(yaml.safe_dump(formula_card(
        MODULES_PACKAGE, base, "Custom Salt modules of the storm-sklearn formulas")))
    staged[MODULES_PACKAGE] = where
    return staged


def spm_config(out):
    conf = pathlib.Path(out) / "spm-conf"
    conf.mkdir(parents=True, exist_ok=True)
    root = pathlib.Path(out).resolve()
    for sub in ("packages", "cache", "db", "installed"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (conf / "spm").write_text(yaml.safe_dump({
        "spm_build_dir": str(root / "packages"),
        "spm_cache_dir": str(root / "cache"),
        "spm_db": str(root / "db" / "packages.db"),
        "spm_logfile": str(root / "spm.log"),
        "root_dir": str(root),
        "formula_path": str(root / "installed" / "salt"),
        "pillar_path": str(root / "installed" / "pillar"),
        "reactor_path": str(root / "installed" / "reactor"),
    }))
    return conf


def build(out, spm):
    staged = stage(out)
    conf = spm_config(out)
    built = []
    for where in staged.values():
        proc = subprocess.run([spm, "-c", str(conf), "-y", "build", str(where)],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"spm build {where} failed:\n{proc.stdout}{proc.stderr}")
    for package in sorted((pathlib.Path(out) / "packages").glob("*.spm")):
        built.append(package)
    return built, conf


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "build" / "spm"))
    parser.add_argument("--spm", default=str(pathlib.Path(sys.executable).with_name("spm")))
    args = parser.parse_args()
    built, _ = build(args.out, args.spm)
    print("\n".join(str(p) for p in built))


if __name__ == "__main__":
    main()
