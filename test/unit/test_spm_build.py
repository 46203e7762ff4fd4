"""SPM: every formula builds into a package of its own and `spm local install` puts its
SLS files and the shared modules where Salt looks for them."""

import pathlib
import subprocess
import sys

from modloader import ROOT

SPM = pathlib.Path(sys.executable).with_name("spm")
FORMULAS = ("zookeeper", "conda", "sklearn_model", "storm")


def test_packages_build_and_install(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "tools/build_spm.py"), "--out",
                           str(tmp_path), "--spm", str(SPM)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    built = sorted(p.name for p in (tmp_path / "packages").glob("*.spm"))
    assert built == sorted(f"{n}-0.1.0-1.spm" for n in FORMULAS + ("storm-sklearn-modules",))
    conf = tmp_path / "spm-conf"
    for name in ("storm-sklearn-modules",) + FORMULAS:
        package = tmp_path / "packages" / f"{name}-0.1.0-1.spm"
        install = subprocess.run([str(SPM), "-c", str(conf), "-y", "local", "install",
                                  str(package)], capture_output=True, text=True, timeout=120,
                                 check=False)
        assert install.returncode == 0, install.stdout + install.stderr
    salt = tmp_path / "installed" / "salt"
    for name in FORMULAS:
        assert (salt / name / "init.sls").is_file(), name
        assert (salt / name / "map.jinja").is_file(), name
    assert (salt / "storm" / "orchestrate.sls").is_file()
    assert (salt / "_modules" / "clustermap.py").is_file()
    assert (salt / "_states" / "zookeeper_quorum.py").is_file()
    assert (salt / "_utils" / "formula_schema.py").is_file()
    # Nothing of the repository's tests or build output is packed.
    packed = {p.name for p in salt.rglob("*")}
    assert not packed & {"test", "build", ".ci", "conftest.py"}


def test_metadata_lists_the_custom_modules_that_ship():
    """metadata.yml's custom_modules are exactly the files in _modules/, _states/, _utils/."""
    import yaml
    listed = yaml.safe_load((ROOT / "metadata.yml").read_text())["custom_modules"]
    for kind, folder in (("execution", "_modules"), ("state", "_states"), ("utils", "_utils")):
        shipped = sorted(p.stem for p in (ROOT / folder).glob("*.py"))
        assert sorted(listed[kind]) == shipped, kind
