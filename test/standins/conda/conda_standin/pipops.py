"""Making an environment's venv and running pip in it.

Two kinds of pip runs, as in conda:
  * conda specs: pip is pointed at the channels only (``--index-url``/``--extra-index-url``
    and ``--find-links`` for every lookup URL, ``--trusted-host`` for http hosts), with
    the host's pip configuration switched off (``PIP_CONFIG_FILE=/dev/null``, no PIP_*
    variables), binaries preferred, downloads cached in ``<pkgs_dir>/pip-cache``;
  * the ``pip:`` section of an environment.yml: ``python -m pip install -U -r <file>`` with
    pip's own configuration (pip.conf, PIP_* variables), exactly what conda runs.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

from .errors import CondaError, LibMambaUnsatisfiableError
from .prefix import site_packages

VENV_CRUFT = ("activate", "activate.csh", "activate.fish", "Activate.ps1")


def base_python(root):
    return os.path.join(root, "bin", "python")


def make_venv(root, prefix):
    """A venv of the base environment's interpreter (the system's Python 3.11)."""
    subprocess.run([base_python(root), "-m", "venv", "--without-pip", prefix], check=True,
                   capture_output=True)
    for name in VENV_CRUFT:
        try:
            os.unlink(os.path.join(prefix, "bin", name))
        except OSError:
            pass
    link_pip(root, prefix)


def pip_package_dir(root):
    """The unpacked pip wheel in the installation's package cache (<root>/pkgs)."""
    pkgs = os.path.join(root, "pkgs")
    for name in sorted(os.listdir(pkgs)) if os.path.isdir(pkgs) else []:
        if name.startswith("pip-") and os.path.isdir(os.path.join(pkgs, name, "pip")):
            return os.path.join(pkgs, name)
    raise CondaError(f"the stand-in's pip package is missing from {pkgs}")


def _link_or_copy(src, dst):
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def link_pip(root, prefix):
    """Link pip from the package cache into the environment, as conda links packages
    (hard links, copies where that fails), and write its entry points."""
    src = pip_package_dir(root)
    sp = site_packages(prefix)
    os.makedirs(sp, exist_ok=True)
    for name in os.listdir(src):
        dst = os.path.join(sp, name)
        if os.path.exists(dst):
            shutil.rmtree(dst)
        shutil.copytree(os.path.join(src, name), dst, copy_function=_link_or_copy)
    python = os.path.join(prefix, "bin", "python")
    for script in ("pip", "pip3", f"pip{sys.version_info[0]}.{sys.version_info[1]}"):
        path = os.path.join(prefix, "bin", script)
        with open(path, "w") as fh:
            fh.write(f"#!{python}\n# -*- coding: utf-8 -*-\nimport re\nimport sys\n"
                     "from pip._internal.cli.main import main\nif __name__ == '__main__':\n"
                     "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
                     "    sys.exit(main())\n")
        os.chmod(path, 0o755)


def isolated_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    env.pop("PYTHONPATH", None)
    return env


def channel_args(channels, insecure=False):
    """pip options pointing at the channels' lookup URLs (order = channel priority)."""
    urls, dirs, hosts = [], [], []
    for channel in channels:
        for lookup in channel.lookups:
            if channel.local:
                dirs.append(lookup)
            else:
                urls.append(lookup.rstrip("/") + "/")
                split = urllib.parse.urlsplit(lookup)
                if split.scheme == "http" or insecure:
                    hosts.append(split.netloc)
    args = []
    if urls:
        args += ["--index-url", urls[0]]
        for url in urls[1:]:
            args += ["--extra-index-url", url]
    else:
        args.append("--no-index")
    for link in [*urls, *dirs]:
        args += ["--find-links", link]
    for host in dict.fromkeys(hosts):
        args += ["--trusted-host", host]
    return args


def _report_items(path):
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return []
    return data.get("install") or []


def _failure(stderr, stdout, requirements):
    text = (stderr or "") + "\n" + (stdout or "")
    missing = re.findall(r"No matching distribution found for (\S+)", text)
    wanted = re.findall(r"Could not find a version that satisfies the requirement "
                        r"(.+?) \(from (?:versions|(.+?)\))", text)
    lines = []
    for req, parent in wanted:
        parent = (parent or "").strip()
        lines.append(f"  - nothing provides {req}" + (f" needed by {parent}"
                                                       if parent and "versions" not in
                                                       parent else ""))
    if not lines and missing:
        lines = [f"  - nothing provides requested {m}" for m in missing]
    if lines or "ResolutionImpossible" in text or "conflict" in text.lower():
        detail = "\n".join(lines) or "\n".join(
            ln for ln in text.splitlines() if ln.strip() and "ERROR" in ln)
        return LibMambaUnsatisfiableError(
            "Encountered problems while solving:\n" + detail + "\n\n"
            "Could not solve for environment specs (the Miniforge stand-in resolves with "
            "pip; pip said:)\n" + text.strip()[-3000:] + "\n")
    return CondaError("The Miniforge stand-in's pip step failed for "
                      f"{' '.join(requirements)}:\n{text.strip()[-3000:]}\n")


def pip_install(python, requirements, channels, cache_dir=None, dry_run=False,
                ignore_installed=False, force_reinstall=False, no_deps=False, verbose=0,
                insecure=False, offline=False, upgrade=False):
    """pip install conda specs' requirements from the channels; returns report items."""
    with tempfile.TemporaryDirectory(prefix="conda-standin-") as tmp:
        report = os.path.join(tmp, "report.json")
        cmd = [python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
               "--progress-bar", "off", "--prefer-binary", "--report", report]
        cmd += ["--no-index"] if offline else channel_args(channels, insecure)
        if cache_dir:
            cmd += ["--cache-dir", cache_dir]
        else:
            cmd.append("--no-cache-dir")
        if dry_run:
            cmd.append("--dry-run")
        if ignore_installed:
            cmd.append("--ignore-installed")
        if force_reinstall:
            cmd.append("--force-reinstall")
        if no_deps:
            cmd.append("--no-deps")
        if upgrade:
            cmd.append("--upgrade")
        if not verbose:
            cmd.append("--quiet")
        cmd += list(requirements)
        if verbose:
            print("+ " + " ".join(cmd), file=sys.stderr)
        proc = subprocess.run(cmd, env=isolated_env(), capture_output=True, text=True)
        if verbose:
            sys.stderr.write(proc.stdout + proc.stderr)
        if proc.returncode != 0:
            raise _failure(proc.stderr, proc.stdout, requirements)
        return _report_items(report)


def pip_uninstall(python, names, verbose=0):
    if not names:
        return
    cmd = [python, "-m", "pip", "uninstall", "--yes", "--disable-pip-version-check", *names]
    proc = subprocess.run(cmd, env=isolated_env(), capture_output=True, text=True)
    if verbose:
        sys.stderr.write(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise CondaError(f"The Miniforge stand-in's pip uninstall failed:\n{proc.stderr}")


def pip_section(python, lines, workdir, quiet=False, json_mode=False):
    """conda's pip installer: `python -m pip install -U -r <tmp> --exists-action=b` in the
    environment file's directory, with pip's own configuration.  Returns what pip says it
    installed (conda's result["pip"]), or None."""
    from .errors import CondaEnvException

    workdir = workdir if os.access(workdir, os.W_OK) else tempfile.gettempdir()
    fd, req = tempfile.mkstemp(prefix="condaenv.", suffix=".requirements.txt", dir=workdir)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write("\n".join(str(x) for x in lines) + "\n")
        cmd = [python, "-m", "pip", "install", "-U", "-r", req, "--exists-action=b"]
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
        if not quiet and not json_mode:
            print("Ran pip subprocess with arguments:")
            print(cmd)
            print("Pip subprocess output:")
            print(proc.stdout)
        if proc.returncode != 0:
            print("Pip subprocess error:", file=sys.stderr)
            print(proc.stderr, file=sys.stderr)
            raise CondaEnvException("Pip failed")
        m = re.search(r"Successfully installed (.*)", proc.stdout)
        return m.group(1).strip().split() if m else None
    finally:
        try:
            os.unlink(req)
        except OSError:
            pass
