"""sklearn_model.deployed: fetch, checksum, verify in the worker environment, switch; a bad
artifact leaves `current` where it was and names the failed check."""

import hashlib
import io
import json
import shutil
import tarfile

import pytest
from test_sklearn_model import train, trained, venv_python  # noqa: F401 (fixtures)


def artifact(version_dir, dest, tamper=None):
    """A tar of model.joblib + model.json, as an operator or the build step publishes it."""
    with tarfile.open(dest, "w") as tar:
        for name in ("model.joblib", "model.json"):
            data = (version_dir / name).read_bytes()
            if tamper and name == tamper[0]:
                data = tamper[1](data)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return f"sha256={hashlib.sha256(dest.read_bytes()).hexdigest()}"


@pytest.fixture
def state(loader, venv_python):  # noqa: F811
    module = loader("_modules", "sklearn_model")

    def get_url(source, dest):
        shutil.copyfile(source, dest)
        return dest

    salt = {name: getattr(module, name.split(".")[1]) for name in
            ("sklearn_model.verify", "sklearn_model.current", "sklearn_model.switch",
             "sklearn_model.prune")}
    salt["cp.get_url"] = get_url
    salt["file.get_hash"] = lambda path, form: hashlib.file_digest(
        open(path, "rb"), form).hexdigest()
    return loader("_states", "sklearn_model", salt=salt, opts={"test": False})


def test_deploy_then_nothing_then_next_version(state, venv_python, tmp_path):  # noqa: F811
    root = tmp_path / "models"
    v1, v2 = tmp_path / "build" / "iris" / "1", tmp_path / "build" / "iris" / "2"
    train(venv_python, v1, "1")
    train(venv_python, v2, "2")
    hash1 = artifact(v1, tmp_path / "iris-1.tar")
    first = state.deployed("iris", "1", str(tmp_path / "iris-1.tar"), hash1, str(root),
                           venv_python)
    assert first["result"] is True, first["comment"]
    assert first["changes"]["current"] == {"old": None, "new": "1"}
    assert (root / "iris" / "current").resolve() == (root / "iris" / "1").resolve()
    again = state.deployed("iris", "1", str(tmp_path / "iris-1.tar"), hash1, str(root),
                           venv_python)
    assert again["result"] is True and again["changes"] == {}
    hash2 = artifact(v2, tmp_path / "iris-2.tar")
    second = state.deployed("iris", "2", str(tmp_path / "iris-2.tar"), hash2, str(root),
                            venv_python)
    assert second["changes"]["current"] == {"old": "1", "new": "2"}
    assert not [p for p in (root / "iris").iterdir() if p.name.startswith(".incoming")]


@pytest.mark.parametrize("tamper, wrong_hash, message", [
    (None, True, "checksum:"),
    (("model.joblib", lambda b: b[:-100]), False, "sha256 check failed"),
    (("model.json", lambda b: json.dumps(dict(json.loads(b), sklearn_version="0.1")).encode()),
     False, "sklearn_version check failed"),
])
def test_bad_artifact_leaves_current(state, venv_python, tmp_path, tamper, wrong_hash,  # noqa: F811
                                     message):
    root = tmp_path / "models"
    good, bad = tmp_path / "build" / "iris" / "1", tmp_path / "build" / "iris" / "2"
    train(venv_python, good, "1")
    train(venv_python, bad, "2")
    state.deployed("iris", "1", str(tmp_path / "iris-1.tar"),
                   artifact(good, tmp_path / "iris-1.tar"), str(root), venv_python)
    source_hash = artifact(bad, tmp_path / "iris-2.tar", tamper)
    if wrong_hash:
        source_hash = "sha256=" + "0" * 64
    refused = state.deployed("iris", "2", str(tmp_path / "iris-2.tar"), source_hash,
                             str(root), venv_python)
    assert refused["result"] is False and message in refused["comment"], refused["comment"]
    assert "current stays 1" in refused["comment"]
    assert (root / "iris" / "current").resolve() == (root / "iris" / "1").resolve()
    assert not (root / "iris" / "2").exists()
    assert not [p for p in (root / "iris").iterdir() if p.name.startswith(".incoming")]
