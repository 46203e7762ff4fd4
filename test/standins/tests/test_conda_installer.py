"""The Miniforge installer run as the conda formula runs it (`bash Miniforge3-...sh -b -p
PREFIX`), the installed layout, `conda --version`, `conda info --json`, `conda env list
--json`, .condarc and etc/profile.d/conda.sh."""

import json
import os
import subprocess

from test_conda_fixtures import install

pytest_plugins = ["test_conda_fixtures"]

INFO_KEYS = {"conda_version", "root_prefix", "envs_dirs", "pkgs_dirs", "channels", "platform",
             "python_version", "envs", "default_prefix", "conda_prefix", "config_files",
             "active_prefix", "sys.version", "user_agent", "virtual_pkgs"}


def test_batch_install_layout(conda_root, conda):
    for path in ("bin/conda", "bin/python", "condabin/conda", "conda-meta/history",
                 "etc/profile.d/conda.sh", ".condarc"):
        assert (conda_root / path).is_file(), path
    for path in ("envs", "pkgs"):
        assert (conda_root / path).is_dir(), path
    assert os.access(conda_root / "bin" / "conda", os.X_OK)
    version = subprocess.run([str(conda_root / "bin" / "python"), "-c",
                              "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout
    assert version.strip() == "(3, 11)"
    proc = conda.ok("--version", json_out=False)
    assert proc.stdout == "conda 24.11.3\n" and proc.stderr == ""
    assert "conda-forge" in (conda_root / ".condarc").read_text()
    history = (conda_root / "conda-meta" / "history").read_text()
    assert history.startswith("==> ") and "::python-3.11" in history
    assert "::conda-24.11.3-" in history


def test_existing_prefix_refused_then_force_and_update(miniforge_installer, tmp_path,
                                                       conda_standin_only):
    prefix = tmp_path / "conda"
    prefix.mkdir()
    (prefix / "keep.txt").write_text("mine")
    proc = install(miniforge_installer, prefix, "-b")
    assert proc.returncode == 1
    assert f"ERROR: File or directory already exists: '{prefix}'" in proc.stderr
    assert "use the -u option" in proc.stderr
    assert sorted(p.name for p in prefix.iterdir()) == ["keep.txt"]

    proc = install(miniforge_installer, prefix, "-b", "-f")
    assert proc.returncode == 0, proc.stderr
    assert (prefix / "bin" / "conda").exists() and (prefix / "keep.txt").exists()
    (prefix / "envs" / "mine" / "conda-meta").mkdir(parents=True)
    (prefix / "envs" / "mine" / "conda-meta" / "history").write_text("")
    blocks = (prefix / "conda-meta" / "history").read_text().count("==> ")

    proc = install(miniforge_installer, prefix, "-b", "-u")
    assert proc.returncode == 0, proc.stderr
    assert (prefix / "envs" / "mine" / "conda-meta" / "history").exists()
    assert (prefix / "conda-meta" / "history").read_text().count("==> ") == blocks + 1
    assert "installation finished." in proc.stdout


def test_installer_options(miniforge_installer, tmp_path, conda_standin_only):
    proc = subprocess.run(["bash", str(miniforge_installer), "-h"], capture_output=True,
                          text=True)
    assert proc.returncode == 2 and "-b" in proc.stdout and "-u" in proc.stdout
    proc = subprocess.run(["bash", str(miniforge_installer), "-x"], capture_output=True,
                          text=True)
    assert proc.returncode == 1 and "did not recognize option" in proc.stdout
    proc = install(miniforge_installer, tmp_path / "with space", "-b")
    assert proc.returncode == 1 and "spaces" in proc.stderr


def test_info_json(conda, conda_root):
    info = conda.ok("info")
    assert INFO_KEYS <= set(info)
    assert info["conda_version"] == "24.11.3"
    assert info["root_prefix"] == str(conda_root)
    assert info["envs_dirs"][0] == str(conda_root / "envs")
    assert info["pkgs_dirs"][0] == str(conda_root / "pkgs")
    assert info["platform"] == "linux-64"
    assert info["python_version"].startswith("3.11.")
    assert info["channels"] == ["https://conda.anaconda.org/conda-forge/linux-64",
                                "https://conda.anaconda.org/conda-forge/noarch"]
    assert str(conda_root) in info["envs"]
    assert str(conda_root / ".condarc") in info["config_files"]
    assert conda.ok("info", "--base", json_out=False).stdout == f"{conda_root}\n"


def test_info_says_stand_in(conda, conda_standin_only):
    assert "NOT conda" in conda.ok("info")["standin"]["note"]
    assert "STAND-IN" in conda.ok("info", json_out=False).stdout


def test_env_list_json(conda, conda_root):
    data = conda.ok("env", "list")
    assert data == {"envs": sorted(data["envs"])}
    assert data["envs"][0] == str(conda_root)
    text = conda.ok("env", "list", json_out=False).stdout
    assert text.startswith("# conda environments:\n#\n")
    assert f"base                        {conda_root}" in text


def test_condarc_channels_alias_and_custom_channels(conda, tmp_path, conda_standin_only):
    rc = tmp_path / "condarc"
    rc.write_text("channel_alias: http://10.77.0.1:3141/simple\nchannels:\n  - conda-forge\n"
                  "  - mirrored\ncustom_channels:\n  mirrored: http://127.0.0.1:9/mirror\n")
    info = conda.ok("info", env={"CONDARC": str(rc)})
    assert info["channels"] == [
        "http://10.77.0.1:3141/simple/conda-forge/linux-64",
        "http://10.77.0.1:3141/simple/conda-forge/noarch",
        "http://127.0.0.1:9/mirror/mirrored/linux-64",
        "http://127.0.0.1:9/mirror/mirrored/noarch"]
    assert str(rc) in info["config_files"]
    lookups = info["standin"]["channel_lookups"]
    assert lookups["conda-forge"] == ["http://10.77.0.1:3141/simple/conda-forge",
                                      "http://10.77.0.1:3141/simple"]
    shown = conda.ok("config", "--show", "channels", "channel_alias",
                     env={"CONDARC": str(rc)})
    assert shown == {"channels": ["conda-forge", "mirrored"],
                     "channel_alias": "http://10.77.0.1:3141/simple"}


def test_profile_d_conda_sh_activates(conda, conda_root, conda_channel):
    conda.ok("create", "-y", "-n", "shelltest", *conda_channel, "python=3.11")
    script = (f". {conda_root}/etc/profile.d/conda.sh && conda activate shelltest && "
              "echo $CONDA_PREFIX && command -v python && conda deactivate && "
              "echo after=${CONDA_PREFIX:-}")
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                          env=conda.env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    env = str(conda_root / "envs" / "shelltest")
    assert proc.stdout.splitlines() == [env, f"{env}/bin/python", "after="]
    conda.ok("remove", "-y", "-n", "shelltest", "--all")


def test_unimplemented_command_says_so(conda, conda_standin_only):
    proc = conda("search", "numpy")
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["exception_name"] == "StandinNotImplemented"
