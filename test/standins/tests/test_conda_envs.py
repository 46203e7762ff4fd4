"""Environments through conda's command line, as the conda formula drives it: create with
pins, list --json, install/remove, env create/update --prune from an environment.yml with a
pip section, run, conda's errors as --json objects with a non-zero exit, idempotence."""

from test_conda_fixtures import names

pytest_plugins = ["test_conda_fixtures"]

LIST_KEYS = {"name", "version", "channel", "build_string", "platform", "base_url",
             "dist_name", "build_number"}
ERROR_KEYS = {"exception_name", "exception_type", "message", "error", "caused_by"}


def test_create_with_pins_list_and_history(conda, conda_root, conda_channel):
    data = conda.ok("create", "-y", "-n", "pins", *conda_channel, "python=3.11", "six=1.16",
                    "packaging>=24.2", "joblib")
    prefix = conda_root / "envs" / "pins"
    assert data["success"] is True and data["prefix"] == str(prefix)
    assert data["actions"]["PREFIX"] == str(prefix)
    linked = names(data["actions"]["LINK"])
    assert linked["six"] == "1.16.0" and linked["packaging"] == "24.2"
    assert linked["joblib"] == "1.4.2" and linked["python"].startswith("3.11.")

    listing = conda.ok("list", "-n", "pins")
    assert all(set(p) == LIST_KEYS for p in listing)
    assert [p["name"] for p in listing] == sorted(p["name"] for p in listing)
    assert {"python", "pip", "six", "packaging", "joblib"} <= set(names(listing))
    six = next(p for p in listing if p["name"] == "six")
    assert six["dist_name"] == f"six-1.16.0-{six['build_string']}"
    assert six["platform"] == "noarch" and six["channel"] != "pypi"
    assert conda.ok("list", "-p", str(prefix)) == listing
    assert names(conda.ok("list", "-n", "pins", "^six$")) == {"six": "1.16.0"}

    for binary in ("python", "pip"):
        assert (prefix / "bin" / binary).exists(), binary
    history = (prefix / "conda-meta" / "history").read_text()
    assert history.startswith("==> ") and "# cmd: " in history
    assert "::six-1.16.0-" in history
    assert "# update specs: ['python=3.11', 'six=1.16', 'packaging>=24.2', 'joblib']" in history
    assert str(prefix) in conda.ok("env", "list")["envs"]
    assert str(prefix) in conda.ok("info")["envs"]


def test_create_existing_env_prompts_and_yes_recreates(conda, conda_root, conda_channel):
    conda.ok("create", "-y", "-n", "again", *conda_channel, "six=1.16")
    prefix = conda_root / "envs" / "again"
    # No -y: conda asks "Remove existing environment?" (default no) and exits 0 unchanged.
    proc = conda("create", "-n", "again", *conda_channel, "six=1.17", json_out=False, stdin="\n")
    assert proc.returncode == 0
    assert "A conda environment already exists" in proc.stdout and "Exiting." in proc.stderr
    assert names(conda.ok("list", "-n", "again"))["six"] == "1.16.0"
    # -y: the old environment is removed and created anew.
    conda.ok("create", "-y", "-n", "again", *conda_channel, "six=1.17")
    assert names(conda.ok("list", "-n", "again"))["six"] == "1.17.0"
    assert (prefix / "conda-meta" / "history").read_text().count("==> ") == 1
    error = conda.fails("create", "-n", "again", "--dry-run", *conda_channel, "six",
                        exception="CondaValueError")
    assert "existing conda environment" in error["message"]


def test_install_upgrade_nothing_to_do_and_remove(conda, conda_root, conda_channel,
                                                  conda_standin_only):
    conda.ok("create", "-y", "-n", "work", *conda_channel, "six=1.16")
    nothing = conda.ok("install", "-y", "-n", "work", *conda_channel, "six=1.16")
    assert nothing == {"message": "All requested packages already installed.", "success": True}

    data = conda.ok("install", "-y", "-n", "work", *conda_channel, "six=1.17", "demo-app")
    assert names(data["actions"]["LINK"]) == {"six": "1.17.0", "demo-app": "1.0"}
    assert names(data["actions"]["UNLINK"]) == {"six": "1.16.0"}
    prefix = conda_root / "envs" / "work"
    assert (prefix / "bin" / "demo_run").exists()
    assert conda.ok("run", "-n", "work", "demo_run", json_out=False).stdout == "demo-app 1.0\n"

    # Removing six removes what depends on it, as conda does (--force would not).
    data = conda.ok("remove", "-y", "-n", "work", "six")
    assert set(names(data["actions"]["UNLINK"])) == {"six", "demo-app"}
    assert "six" not in names(conda.ok("list", "-n", "work"))
    assert not (prefix / "bin" / "demo_run").exists()
    history = (prefix / "conda-meta" / "history").read_text()
    assert "# remove specs: ['six']" in history
    assert any(ln.startswith("-") and "::six-1.17.0-" in ln for ln in history.splitlines())
    error = conda.fails("remove", "-y", "-n", "work", "six", exception="PackagesNotFoundError")
    assert "missing from the target environment" in error["message"]

    data = conda.ok("remove", "-y", "-n", "work", "--all")
    assert data["success"] is True and not prefix.exists()
    assert str(prefix) not in conda.ok("env", "list")["envs"]
    # Removing an environment that is not there is a no-op, as in conda.
    proc = conda("remove", "-y", "-n", "work", "--all")
    assert proc.returncode == 0 and proc.stdout == ""


def test_dry_run_changes_nothing(conda, conda_root, conda_channel):
    data = conda.ok("create", "-n", "dry", "--dry-run", *conda_channel, "six=1.17")
    assert data["dry_run"] is True and data["success"] is True
    assert names(data["actions"]["LINK"])["six"] == "1.17.0"
    assert not (conda_root / "envs" / "dry").exists()


def test_errors_are_condas(conda, conda_root, conda_channel, conda_standin_only):
    error = conda.fails("create", "-y", "-n", "bad", *conda_channel, "nosuchpkg", "six",
                        exception="PackagesNotFoundError")
    assert ERROR_KEYS <= set(error)
    assert error["packages"] == ["nosuchpkg"]
    assert error["exception_type"] == "<class 'conda.exceptions.PackagesNotFoundError'>"
    assert "not available from current channels" in error["message"]
    assert not (conda_root / "envs" / "bad").exists()

    error = conda.fails("create", "-y", "-n", "bad", *conda_channel, "python=3.10",
                        exception="LibMambaUnsatisfiableError")
    assert "python 3.10" in error["message"]
    error = conda.fails("create", "-y", "-n", "bad", *conda_channel, "six=9",
                        exception="LibMambaUnsatisfiableError")
    assert "nothing provides requested six 9" in error["message"]
    error = conda.fails("create", "-y", "-n", "bad", *conda_channel, "needs-missing",
                        exception="LibMambaUnsatisfiableError")
    assert "no-such-dependency" in error["message"]
    assert not (conda_root / "envs" / "bad").exists()  # a failed create leaves nothing

    missing = str(conda_root / "envs" / "nowhere")
    for args in (("list", "-n", "nowhere"), ("install", "-y", "-n", "nowhere", "six"),
                 ("remove", "-y", "-n", "nowhere", "six"), ("list", "-p", missing)):
        error = conda.fails(*args, exception="EnvironmentLocationNotFound")
        assert error["message"] == f"Not a conda environment: {missing}"

    error = conda.fails("create", "-y", "-n", "bad", "--override-channels", "-c",
                        "http://127.0.0.1:9/", "six", exception="CondaHTTPError")
    assert "CONNECTION FAILED" in error["message"]
    conda.fails("create", "-y", "-n", "bad", "--override-channels", "six",
                exception="CondaValueError")
    conda.fails("create", "-y", "-n", "bad", *conda_channel, "six|joblib",
                exception="InvalidMatchSpec")
    conda.fails("create", "-y", *conda_channel, "six", exception="ArgumentError", rc=2)
    conda.fails("create", "-y", "-n", "a/b", *conda_channel, "six", exception="CondaValueError")


def test_env_create_update_prune_with_pip_section(conda, conda_root, conda_simple_url,
                                                  tmp_path, conda_standin_only):
    url = conda_simple_url  # a PEP 503 index, as the lab serves one
    yml = tmp_path / "environment.yml"
    yml.write_text(f"""name: worker
channels:
  - {url}
  - nodefaults
dependencies:
  - python=3.11
  - six=1.16
  - joblib=1.4.2
  - pip
  - pip:
      - demo-app==1.0
variables:
  MODEL_DIR: /srv/model
""")
    prefix = conda_root / "envs" / "worker"
    data = conda.ok("env", "create", "-f", str(yml))
    assert data["success"] is True and data["prefix"] == str(prefix)
    assert data["actions"]["PIP"] == ["demo-app-1.0"]
    assert {"python", "six", "joblib", "pip"} <= set(names(data["actions"]["LINK"]))
    listing = {p["name"]: p for p in conda.ok("list", "-p", str(prefix))}
    assert listing["demo-app"]["channel"] == "pypi"
    assert listing["demo-app"]["build_string"] == "pypi_0"
    assert listing["joblib"]["channel"] != "pypi"
    assert (prefix / "bin" / "demo_run").exists()
    run = conda.ok("run", "-p", str(prefix), "sh", "-c", "echo $MODEL_DIR $CONDA_PREFIX",
                   json_out=False)
    assert run.stdout == f"/srv/model {prefix}\n"

    # conda env create of an existing environment: "prefix already exists" (exit 1) ...
    error = conda.fails("env", "create", "-f", str(yml), exception="CondaValueError")
    assert error["message"] == f"prefix already exists: {prefix}"
    # ... unless --yes, which removes it first.
    assert conda.ok("env", "create", "-f", str(yml), "--yes")["success"] is True

    # Update with --prune: joblib leaves the file, packaging comes in; the pip package
    # stays (conda prunes conda packages only).
    yml.write_text(yml.read_text().replace("joblib=1.4.2", "packaging=24.1"))
    data = conda.ok("env", "update", "-p", str(prefix), "-f", str(yml), "--prune")
    assert names(data["actions"]["LINK"]) == {"packaging": "24.1"}
    assert names(data["actions"]["UNLINK"]) == {"joblib": "1.4.2"}
    now = names(conda.ok("list", "-p", str(prefix)))
    assert "joblib" not in now and now["packaging"] == "24.1" and now["demo-app"] == "1.0"
    assert now["six"] == "1.16.0"  # needed by demo-app: kept

    # The same file again changes nothing.
    again = conda.ok("env", "update", "-n", "worker", "-f", str(yml), "--prune")
    assert again == {"message": "All requested packages already installed.", "success": True}

    # env update of a missing environment creates it, as conda does.
    other = tmp_path / "other-env"
    conda.ok("env", "update", "-p", str(other), "-f", str(yml))
    assert "packaging" in names(conda.ok("list", "-p", str(other)))
    conda.ok("env", "remove", "-p", str(other), "-y")
    assert not other.exists()

    conda.fails("env", "create", "-f", str(tmp_path / "nope.yml"),
                exception="EnvironmentFileNotFound")
    pip_fail = tmp_path / "pipfail.yml"
    pip_fail.write_text(f"channels: [{url}, nodefaults]\ndependencies:\n  - pip\n  - pip:\n"
                        "      - no-such-pip-package==1\n")
    error = conda.fails("env", "create", "-p", str(tmp_path / "pf"), "-f", str(pip_fail),
                        exception="CondaEnvException")
    assert error["message"] == "Pip failed"


def test_run_exit_codes(conda, conda_channel):
    conda.ok("create", "-y", "-n", "runner", *conda_channel, "python=3.11")
    proc = conda("run", "-n", "runner", "python", "-c", "import sys; print(sys.prefix); "
                 "sys.exit(3)", json_out=False)
    assert proc.returncode == 3 and proc.stdout.strip().endswith("/envs/runner")
    proc = conda("run", "-n", "runner", "no-such-command", json_out=False)
    assert proc.returncode == 127
    proc = conda("run", "-n", "absent", "python", json_out=False)
    assert proc.returncode == 1 and "EnvironmentLocationNotFound" in proc.stderr


def test_stray_json_in_conda_meta_breaks_conda_like_conda(conda, conda_root, conda_channel,
                                                           conda_standin_only):
    """conda loads every conda-meta/*.json as a package record: a file of another tool there
    (the stand-in reproduces it) makes `conda list` and every transaction fail."""
    conda.ok("create", "-y", "-n", "meta", *conda_channel, "six")
    stray = conda_root / "envs" / "meta" / "conda-meta" / "salt-spec.json"
    stray.write_text('{"fingerprint": "abc"}')
    error = conda.fails("list", "-n", "meta", exception="ValidationError")
    assert "requires a name field" in error["message"]
    stray.unlink()
    assert "six" in names(conda.ok("list", "-n", "meta"))


def test_named_channel_through_channel_alias(conda, conda_root, conda_simple_url,
                                             tmp_path, conda_standin_only):
    """The lab's way: .condarc keeps `channels: [conda-forge]` and points channel_alias at
    the PEP 503 index; the packages are recorded as conda-forge's."""
    rc = tmp_path / "condarc"
    rc.write_text(f"channel_alias: {conda_simple_url}\nchannels:\n  - conda-forge\n")
    data = conda.ok("create", "-y", "-n", "aliased", "six=1.17", env={"CONDARC": str(rc)})
    six = next(p for p in data["actions"]["LINK"] if p["name"] == "six")
    assert six["channel"] == "conda-forge"
    assert six["base_url"] == f"{conda_simple_url}/conda-forge"
    history = (conda_root / "envs" / "aliased" / "conda-meta" / "history").read_text()
    assert "+conda-forge/noarch::six-1.17.0-standin_0" in history
