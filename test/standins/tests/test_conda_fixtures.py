"""Fixtures of the Miniforge stand-in tests (a pytest plugin: the test_conda_* modules load
it with `pytest_plugins`; it holds no tests itself).

* `miniforge_installer`: the stand-in built by test/standins/build_miniforge.py, or a real
  installer given as MINIFORGE_INSTALLER=/path/to/Miniforge3-...-Linux-x86_64.sh;
* `conda_wheelhouse`: a find-links directory of small wheels: six, packaging, joblib fetched with
  `pip download` (cached in build/standins/.conda-test-wheels) plus two wheels made here
  (demo-app with a console script, needs-missing with an unavailable dependency);
* `conda_findlinks_url` / `conda_simple_url`: the conda_wheelhouse served on loopback by `python -m
  http.server` (a directory listing: a find-links page) and by the lab's PEP 503 server;
* `conda_root`: the installer run in batch mode into a temporary prefix;
* `conda`: runs that prefix's bin/conda with a private HOME and pip configuration.
"""

import base64
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import zipfile

import pytest
from polling import free_port, wait_for

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[2]
BUILD = REPO / "build" / "standins"
BUILDER = REPO / "test" / "standins" / "build_miniforge.py"
VERSION = "24.11.3-0"
TEST_WHEELS = ["six==1.16.0", "six==1.17.0", "packaging==24.1", "packaging==24.2",
               "joblib==1.4.2"]


def make_wheel(directory, name, version, requires=(), scripts=None):
    """A minimal pure-Python wheel (valid RECORD), written without any build tool."""
    module = name.replace("-", "_")
    dist = f"{module}-{version}"
    files = {f"{module}/__init__.py": f"VERSION = {version!r}\n\n\ndef main():\n"
                                      f"    print({name + ' ' + version!r})\n"}
    files[f"{dist}.dist-info/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        + "".join(f"Requires-Dist: {r}\n" for r in requires))
    files[f"{dist}.dist-info/WHEEL"] = ("Wheel-Version: 1.0\nGenerator: conda-standin-tests\n"
                                        "Root-Is-Purelib: true\nTag: py3-none-any\n")
    if scripts:
        files[f"{dist}.dist-info/entry_points.txt"] = "[console_scripts]\n" + "".join(
            f"{k} = {v}\n" for k, v in scripts.items())
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest())
        record.append(f"{path},sha256={digest.rstrip(b'=').decode()},{len(text.encode())}")
    files[f"{dist}.dist-info/RECORD"] = "\n".join([*record, f"{dist}.dist-info/RECORD,,"]) + "\n"
    target = pathlib.Path(directory) / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w") as archive:
        for path, text in sorted(files.items()):
            archive.writestr(zipfile.ZipInfo(path, (2023, 1, 1, 0, 0, 0)), text)
    return target


def serve(cmd, port, what):
    """Start a loopback HTTP server; the caller terminates it."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)

    def up():
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        import socket
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    wait_for(up, 15, what, interval=0.1)
    return proc


def stop(proc):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class Conda:
    """Runs <root>/bin/conda with a private HOME, no CONDA_* or PIP_* from the caller, and
    pip sections pointed at the test index (PIP_INDEX_URL), all on loopback."""

    def __init__(self, root, home, pip_index):
        self.root, self.home = pathlib.Path(root), pathlib.Path(home)
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("PIP_", "CONDA", "PYTHON", "VIRTUAL_ENV"))}
        self.env.update({"HOME": str(home), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                         "PIP_CONFIG_FILE": os.devnull, "PIP_INDEX_URL": pip_index,
                         "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1",
                         "LC_ALL": "C.UTF-8"})

    @property
    def exe(self):
        return str(self.root / "bin" / "conda")

    def __call__(self, *args, json_out=True, stdin="", env=None, timeout=180, cwd=None):
        argv = [self.exe, *args] + (["--json"] if json_out else [])
        proc = subprocess.run(argv, input=stdin, capture_output=True, text=True,
                              env={**self.env, **(env or {})}, timeout=timeout, cwd=cwd)
        proc.data = None
        if json_out and proc.stdout.strip():
            try:
                proc.data = json.loads(proc.stdout)
            except ValueError:
                pass
        return proc

    def ok(self, *args, **kwargs):
        proc = self(*args, **kwargs)
        assert proc.returncode == 0, (args, proc.stdout[-3000:], proc.stderr[-3000:])
        return proc.data if kwargs.get("json_out", True) else proc

    def fails(self, *args, exception=None, rc=1, **kwargs):
        """Run a command that must fail like conda: exit rc, --json error object."""
        proc = self(*args, **kwargs)
        assert proc.returncode == rc, (args, proc.returncode, proc.stdout[-3000:],
                                       proc.stderr[-3000:])
        data = proc.data
        assert isinstance(data, dict), proc.stdout
        for key in ("exception_name", "exception_type", "message", "error", "caused_by"):
            assert key in data, (key, data)
        assert data["error"].startswith(f"{data['exception_name']}: "), data
        if exception:
            assert data["exception_name"] == exception, data
        return data


@pytest.fixture(scope="session")
def miniforge_installer():
    given = os.environ.get("MINIFORGE_INSTALLER")
    if given:
        return pathlib.Path(given)
    proc = subprocess.run([sys.executable, str(BUILDER), "--out", str(BUILD), "--python",
                           sys.executable, "--version", VERSION], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return BUILD / f"Miniforge3-{VERSION}-Linux-x86_64.sh"


@pytest.fixture(scope="session")
def conda_wheelhouse(tmp_path_factory):
    cache = BUILD / ".conda-test-wheels"
    stamp = cache / ".pins"
    if not (stamp.exists() and stamp.read_text() == repr(TEST_WHEELS)):
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir(parents=True)
        for pin in TEST_WHEELS:  # one at a time: two versions of one project
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                            "--only-binary=:all:", "--disable-pip-version-check", "--dest",
                            str(cache), pin], check=True, capture_output=True, timeout=300)
        stamp.write_text(repr(TEST_WHEELS))
    house = tmp_path_factory.mktemp("wheelhouse")
    for wheel in cache.glob("*.whl"):
        shutil.copy2(wheel, house)
    make_wheel(house, "demo-app", "1.0", ["six>=1.16"], {"demo_run": "demo_app:main"})
    make_wheel(house, "needs-missing", "1.0", ["no-such-dependency>=1"])
    return house


@pytest.fixture(scope="session")
def conda_findlinks_url(conda_wheelhouse):
    port = free_port()
    proc = serve([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port),
                  "--directory", str(conda_wheelhouse)], port, "http.server (find-links)")
    yield f"http://127.0.0.1:{port}/"
    stop(proc)


@pytest.fixture(scope="session")
def conda_simple_url(conda_wheelhouse):
    port = free_port()
    proc = serve([sys.executable, str(REPO / "test" / "lab" / "wheelhouse_server.py"),
                  str(conda_wheelhouse), "127.0.0.1", str(port)], port, "PEP 503 index")
    yield f"http://127.0.0.1:{port}/simple"
    stop(proc)


def install(installer, prefix, *options, home=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONDA", "PYTHON"))}
    env.update({"HOME": str(home or prefix.parent), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    return subprocess.run(["bash", str(installer), *options, "-p", str(prefix)],
                          capture_output=True, text=True, env=env, timeout=600,
                          stdin=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def conda_home(tmp_path_factory):
    return tmp_path_factory.mktemp("conda-home")


@pytest.fixture(scope="session")
def conda_root(miniforge_installer, tmp_path_factory, conda_home):
    prefix = tmp_path_factory.mktemp("miniforge") / "conda"
    proc = install(miniforge_installer, prefix, "-b", home=conda_home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return prefix


@pytest.fixture(scope="session")
def conda_is_standin(conda_root):
    return (conda_root / "STANDIN.txt").exists()


@pytest.fixture
def conda_standin_only(conda_is_standin):
    if not conda_is_standin:
        pytest.skip("behaviour of the Miniforge stand-in only")


@pytest.fixture(scope="session")
def conda(conda_root, conda_home, conda_simple_url):
    return Conda(conda_root, conda_home, conda_simple_url + "/")


@pytest.fixture(scope="session")
def conda_channel(conda_is_standin, conda_findlinks_url):
    """-c arguments for the test packages: the find-links URL for the stand-in; a real
    conda needs a conda channel offering them (CONDA_TEST_CHANNEL)."""
    if conda_is_standin:
        return ["--override-channels", "-c", conda_findlinks_url]
    if not os.environ.get("CONDA_TEST_CHANNEL"):
        pytest.skip("a real Miniforge needs CONDA_TEST_CHANNEL (a conda channel with python "
                    "3.11, pip, six, packaging, joblib)")
    return ["--override-channels", "-c", os.environ["CONDA_TEST_CHANNEL"]]


def names(listing):
    """{name: version} of a `conda list --json`."""
    return {p["name"]: p["version"] for p in listing}
