"""Model trust: the master fixes a built model's sha256 from its own received copy and hands
it over (sklearn_model.publish / handoff / the `published` state), its minionfs must serve
the build hosts alone, a built version without the master's hash is refused, and whatever
unpickles a model runs unprivileged."""

import hashlib
import json
import os
import pickle
import pwd
import shutil
import stat
import tempfile

import pytest
from salt.exceptions import CommandExecutionError
from test_sklearn_model import read_meta, trained, venv_python  # noqa: F401 (fixtures)
from test_sklearn_model_state import artifact, state  # noqa: F401 (fixture)

ARTIFACT = "/var/cache/sklearn_model/build/iris-1.tar"
SECURE = {"file_recv": True, "fileserver_backend": ["roots", "minionfs"],
          "minionfs_whitelist": ["sup1"], "minionfs_blacklist": []}


@pytest.fixture
def master(loader, tmp_path):
    """The module as the orchestrate's master-side minion loads it: master opts."""
    def make(**opts):
        return loader("_modules", "sklearn_model",
                      opts={"cachedir": str(tmp_path / "master"), "test": False,
                            **SECURE, **opts})
    return make


def push(mod, minion, path, data):
    """What the master's file_recv writes when `minion` runs cp.push `path`."""
    copy = mod.received(minion, path)
    os.makedirs(os.path.dirname(copy), exist_ok=True)
    with open(copy, "wb") as handle:
        handle.write(data)
    return hashlib.sha256(data).hexdigest()


def test_publish_fixes_the_hash_of_the_masters_copy_once(master):
    mod = master()
    digest = push(mod, "sup1", ARTIFACT, b"model bytes")
    first = mod.publish("iris", "1", "sup1", ARTIFACT)
    assert first["sha256"] == digest and first["new"] is True
    again = mod.publish("iris", "1", "sup1", ARTIFACT)
    assert again == {"sha256": digest, "recorded": first["recorded"], "new": False}
    record = os.path.join(mod._records("iris"), "1.json")
    assert stat.S_IMODE(os.stat(record).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(mod._records("iris")).st_mode) == 0o700
    assert json.load(open(record))["minion"] == "sup1"
    assert mod.handoff("iris") == {"published": {"iris": {"1": digest}}}
    assert mod.handoff() == mod.handoff("iris")


def test_a_republished_version_with_other_bytes_is_refused(master):
    mod = master()
    digest = push(mod, "sup1", ARTIFACT, b"the trained model")
    mod.publish("iris", "1", "sup1", ARTIFACT)
    # The build host (or anyone holding its key) pushes other bytes under the same name.
    push(mod, "sup1", ARTIFACT, b"something else")
    with pytest.raises(CommandExecutionError, match="never rebuilt") as refused:
        mod.publish("iris", "1", "sup1", ARTIFACT)
    assert digest in str(refused.value)
    # The hand-over still carries what was fixed first.
    assert mod.handoff("iris")["published"]["iris"]["1"] == digest


def test_publish_without_the_pushed_copy_names_file_recv(master):
    with pytest.raises(CommandExecutionError, match="file_recv"):
        master().publish("iris", "1", "sup1", ARTIFACT)


def test_test_mode_publishes_nothing(master):
    mod = master()
    push(mod, "sup1", ARTIFACT, b"x")
    assert mod.publish("iris", "1", "sup1", ARTIFACT, test=True)["new"] is True
    assert mod.handoff() == {"published": {}}


def test_handoff_skips_what_is_not_a_record(master):
    mod = master()
    os.makedirs(mod._records("iris"))
    with open(os.path.join(mod._records("iris"), "2.json"), "w") as handle:
        json.dump({"sha256": "not hex"}, handle)
    open(os.path.join(mod._records("iris"), "notes.txt"), "w").close()
    assert mod.handoff("iris", "other") == {"published": {}}


@pytest.mark.parametrize("opts, errors, exposure", [
    ({}, [], []),
    ({"minionfs_whitelist": []}, [], ["minionfs_whitelist is empty"]),
    ({"minionfs_whitelist": ["sup*"]}, [], ["also serves the pushed files of ['sup2']"]),
    ({"minionfs_whitelist": ["sup*"], "minionfs_blacklist": ["sup2"]}, [], []),
    ({"minionfs_whitelist": ["sup2"]}, ["do not serve the build host sup1"],
     ["also serves the pushed files of ['sup2']"]),
    ({"file_recv": False}, ["file_recv: False"], []),
    ({"fileserver_backend": ["roots"]}, ["lacks minionfs"], []),
    ({"minionfs_mountpoint": "salt://pushed"}, ["minionfs_mountpoint"], []),
])
def test_minionfs_exposure(master, opts, errors, exposure):
    found = master(**opts).minionfs_exposure(["sup1"], ["zk1", "nimbus1", "sup2"])
    assert len(found["errors"]) == len(errors) and len(found["exposure"]) == len(exposure)
    for wanted, got in zip(errors + exposure, found["errors"] + found["exposure"],
                           strict=True):
        assert wanted in got


@pytest.fixture
def published_state(loader, master):
    def make(test=False, **opts):
        mod = master(**opts)
        salt = {f"sklearn_model.{f}": getattr(mod, f)
                for f in ("publish", "handoff", "minionfs_exposure")}
        return mod, loader("_states", "sklearn_model", salt=salt,
                           opts={**mod.__opts__, "test": test})
    return make


def test_published_state_fixes_then_reports_no_change(published_state):
    mod, publisher = published_state()
    digest = push(mod, "sup1", ARTIFACT, b"m")
    first = publisher.published("iris", "1", "sup1", ARTIFACT, others=["sup2"])
    assert first["result"] is True and first["changes"]["sha256"] == digest
    second = publisher.published("iris", "1", "sup1", ARTIFACT, others=["sup2"])
    assert second["result"] is True and second["changes"] == {}


def test_published_state_refuses_an_open_minionfs_unless_told(published_state):
    mod, publisher = published_state(minionfs_whitelist=[])
    push(mod, "sup1", ARTIFACT, b"m")
    refused = publisher.published("iris", "1", "sup1", ARTIFACT, others=["sup2"])
    assert refused["result"] is False and "minionfs_whitelist is empty" in refused["comment"]
    assert "minionfs_strict" in refused["comment"] and mod.handoff() == {"published": {}}
    taken = publisher.published("iris", "1", "sup1", ARTIFACT, others=["sup2"], strict=False)
    assert taken["result"] is True and "warnings" in taken["comment"]
    # Errors are never taken, strict or not.
    mod, publisher = published_state(file_recv=False)
    assert publisher.published("iris", "1", "sup1", ARTIFACT, strict=False)["result"] is False


def test_published_state_in_test_mode(published_state):
    mod, publisher = published_state(test=True)
    missing = publisher.published("iris", "1", "sup1", ARTIFACT)
    assert missing["result"] is None and "file_recv" in missing["comment"]
    push(mod, "sup1", ARTIFACT, b"m")
    would = publisher.published("iris", "1", "sup1", ARTIFACT)
    assert would["result"] is None and would["changes"] and mod.handoff() == {
        "published": {}}


def test_a_built_version_without_the_masters_hash_is_refused(
        state, trained, venv_python, tmp_path):  # noqa: F811
    root = tmp_path / "models"
    (root / "iris").mkdir(parents=True)
    shutil.copytree(trained / "iris" / "v1", root / "iris" / "1")
    (root / "iris" / "current").symlink_to("1")
    tar = tmp_path / "iris-2.tar"
    shutil.copytree(trained / "iris" / "v2", tmp_path / "v2")
    meta = read_meta(tmp_path / "v2")
    meta["version"] = "2"
    (tmp_path / "v2" / "model.json").write_text(json.dumps(meta))
    artifact(tmp_path / "v2", tar)
    refused = state.deployed("iris", "2", str(tar), None, str(root), venv_python)
    assert refused["result"] is False and "state.orchestrate" in refused["comment"]
    assert os.readlink(root / "iris" / "current") == "1"
    assert not (root / "iris" / "2").exists()
    # The version already current stays without any hash (a highstate outside it).
    kept = state.deployed("iris", "1", str(tar), None, str(root), venv_python)
    assert kept["result"] is True and kept["changes"] == {}


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")


def readable_dir():
    """A directory every user can read (pytest's tmp_path is root's alone)."""
    path = tempfile.mkdtemp(prefix="sklearn-trust-", dir="/tmp")
    os.chmod(path, 0o755)
    return path


@needs_root
def test_verification_loads_as_the_unprivileged_user(trained, venv_python):  # noqa: F811
    base = readable_dir()
    try:
        version = os.path.join(base, "iris", "1")
        shutil.copytree(trained / "iris" / "v1", version)
        meta = read_meta(trained / "iris" / "v1")
        meta["version"] = "1"
        with open(os.path.join(version, "model.json"), "w") as handle:
            json.dump(meta, handle)
        for path in (os.path.join(base, "iris"), version):
            os.chmod(path, 0o755)
        from modloader import load
        mod = load("_modules", "sklearn_model")
        checked = mod.verify(version, venv_python, user="nobody")
        assert checked["load_uid"] == pwd.getpwnam("nobody").pw_uid
        assert mod.verify(version, venv_python)["load_uid"] == 0
    finally:
        shutil.rmtree(base)


class _Payload:
    """A pickle that runs code when loaded: it writes the uid it ran as."""

    def __init__(self, proof):
        self.proof = proof

    def __reduce__(self):
        return (exec, (f"import os; open({self.proof!r}, 'w').write(str(os.getuid()))",))


@needs_root
@pytest.mark.parametrize("user, uid", [("nobody", None), (None, 0)])
def test_a_malicious_pickle_that_matches_its_hash_runs_unprivileged(
        trained, venv_python, user, uid):  # noqa: F811
    """The hash only says the file is the one published; if the build host was subverted,
    what the pickle runs must not run as root.  With verify_user null (the protection off)
    the same payload runs as uid 0, which the second case shows."""
    base = readable_dir()
    try:
        proof = os.path.join(base, "proof")
        open(proof, "w").close()
        os.chmod(proof, 0o666)
        version = os.path.join(base, "iris", "1")
        os.makedirs(version)
        os.chmod(os.path.join(base, "iris"), 0o755)
        os.chmod(version, 0o755)
        data = pickle.dumps(_Payload(proof), protocol=4)
        with open(os.path.join(version, "model.joblib"), "wb") as handle:
            handle.write(data)
        meta = read_meta(trained / "iris" / "v1")
        meta.update(version="1", sha256=hashlib.sha256(data).hexdigest())
        with open(os.path.join(version, "model.json"), "w") as handle:
            json.dump(meta, handle)
        from modloader import load
        with pytest.raises(CommandExecutionError, match="load"):
            load("_modules", "sklearn_model").verify(version, venv_python, user=user)
        ran_as = int(open(proof).read())
        assert ran_as == (pwd.getpwnam("nobody").pw_uid if uid is None else uid)
    finally:
        shutil.rmtree(base)


def test_an_unknown_verify_user_is_named(trained, venv_python, tmp_path):  # noqa: F811
    from modloader import load
    with pytest.raises(CommandExecutionError, match="verify_user 'no-such-user'"):
        load("_modules", "sklearn_model").environment(venv_python, user="no-such-user")
