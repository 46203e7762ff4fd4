"""The transactions behind create / install / remove / env create / env update.

"Solving" is: each requested spec must be offered by a channel (else conda's
PackagesNotFoundError, or LibMambaUnsatisfiableError when the name exists but no version
fits); python must be the base interpreter's version; pip then installs the requirements
from the channels and resolves the dependencies.  What changed is read back from the
venv (before/after) and recorded in conda-meta like a conda transaction.
"""

import os
import platform
import sys

from packaging.utils import canonicalize_name

from . import pipops
from .errors import (
    CondaSystemExit,
    CondaValueError,
    DryRunExit,
    LibMambaUnsatisfiableError,
    PackagesNotFoundError,
    RemoveError,
)
from .index import PackageIndex
from .prefix import (
    PrefixData,
    dist_fields,
    distributions,
    history_line,
    is_conda_environment,
    make_record,
    register_env,
    site_packages,
)
from .spec import MatchSpec, conda_name, normalize

BASE_PROTECTED = {"python", "conda", "pip", "packaging", "pyyaml"}


# -- prompts and messages ----------------------------------------------------------------
def confirm_yn(ctx, message="Proceed", default="yes", dry_run=None):
    """conda's confirm_yn: -y answers yes; otherwise read a line (empty = the default)."""
    if ctx.dry_run if dry_run is None else dry_run:
        raise DryRunExit()
    if ctx.always_yes:
        return True
    options = "/".join(f"[{c[0]}]" if c == default else c[0] for c in ("yes", "no"))
    choices = {"yes": "yes", "y": "yes", "no": "no", "n": "no", "": default}
    while True:
        sys.stdout.write(f"{message} ({options})? ")
        sys.stdout.flush()
        answer = sys.stdin.readline()
        if answer == "":  # end of input: the default, as an empty line
            answer = "\n"
        choice = choices.get(answer.strip().lower())
        if choice is None:
            print(f"Invalid choice: {answer.strip()}")
            continue
        sys.stdout.write("\n")
        if choice == "no":
            raise CondaSystemExit("Exiting.")
        return True


def say(ctx, *lines):
    if not ctx.json and not ctx.quiet:
        for line in lines:
            print(line)


def print_activate(ctx, env_name_or_prefix):
    if ctx.json or ctx.quiet:
        return
    print("#\n# To activate this environment, use\n#\n"
          f"#     $ conda activate {env_name_or_prefix}\n#\n"
          "# To deactivate an active environment, use\n#\n#     $ conda deactivate\n")


# -- helpers -----------------------------------------------------------------------------
def has_python(prefix):
    return os.path.exists(os.path.join(prefix, "bin", "python")) and os.path.isdir(
        site_packages(prefix))


def parse_specs(specs):
    out = []
    for s in specs:
        spec = s if isinstance(s, MatchSpec) else MatchSpec.parse(s)
        out.append(spec)
    return out


def check_python(specs):
    version = platform.python_version()
    bad = [s for s in specs if s.name == "python" and not s.matches(version)]
    if bad:
        raise LibMambaUnsatisfiableError(
            "Encountered problems while solving:\n"
            + "\n".join(f"  - nothing provides requested {s.display()}" for s in bad)
            + "\n\nCould not solve for environment specs\nThe following package could not "
            "be installed\n" + "\n".join(f"└─ {s.display()} does not exist (perhaps a typo or "
                                         "a missing channel)." for s in bad)
            + f"\n\n(Miniforge stand-in: the only python it provides is {version}, the "
            "system's interpreter.)\n")


def _satisfied(spec, dists, prefix):
    if spec.name == "python":
        return has_python(prefix)
    dist = dists.get(normalize(spec.pypi))
    return dist is not None and spec.matches(dist.version)


def check_available(ctx, index, specs):
    """conda's solve failures for specs the channels cannot provide."""
    missing, unsat = [], []
    for spec in specs:
        files = index.files(spec.pypi)
        if not files:
            missing.append(spec)
        elif not any(spec.matches(f.version) for f in files):
            unsat.append((spec, sorted({str(f.version) for f in files})))
    index.check_reachable()
    if missing:
        urls = [u for c in index.channels for u in c.subdir_urls()]
        raise PackagesNotFoundError([s.original for s in missing], urls)
    if unsat:
        raise LibMambaUnsatisfiableError(
            "Encountered problems while solving:\n"
            + "\n".join(f"  - nothing provides requested {s.display()}" for s, _ in unsat)
            + "\n\nCould not solve for environment specs\nThe following package could not "
            "be installed\n"
            + "\n".join(f"└─ {s.display()} does not exist (perhaps a typo or a missing "
                        f"channel); available: {', '.join(v[-8:])}" for s, v in unsat) + "\n")


def _snapshot(prefix):
    return {k: (d.version, d) for k, d in distributions(prefix).items()}


def _closure(dists, roots):
    """Names (normalised) reachable from roots through Requires-Dist."""
    keep, todo = set(), [normalize(r) for r in roots]
    while todo:
        key = todo.pop()
        if key in keep or key not in dists:
            continue
        keep.add(key)
        todo += [normalize(r.name) for r in dists[key].requires]
    return keep


class Result:
    """What a transaction did, in conda's legacy action-group shape."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.link, self.unlink, self.fetch = [], [], []

    def actions(self):
        out = {"FETCH": list(self.fetch), "PREFIX": self.prefix}
        if self.link:
            out["LINK"] = list(self.link)
        if self.unlink:
            out["UNLINK"] = list(self.unlink)
        return out

    @property
    def nothing_to_do(self):
        return not self.link and not self.unlink


def print_plan(ctx, prefix, specs, result, remove=False):
    if ctx.json or ctx.quiet:
        return
    print("\n## Package Plan ##\n")
    print(f"  environment location: {prefix}\n")
    if specs:
        print("  removed specs:" if remove else "  added / updated specs:")
        for s in specs:
            print(f"    - {s}")
        print("\n")
    link = {e["name"]: e for e in result.link}
    unlink = {e["name"]: e for e in result.unlink}
    new = [link[n] for n in sorted(link) if n not in unlink]
    gone = [unlink[n] for n in sorted(unlink) if n not in link]
    changed = [(unlink[n], link[n]) for n in sorted(link) if n in unlink]

    def fmt(e):
        return f"{e['channel']}/{e['platform']}::{e['dist_name']}"
    if new:
        print("The following NEW packages will be INSTALLED:\n")
        for e in new:
            print(f"  {e['name']:<18} {fmt(e)}")
        print()
    if gone:
        print("The following packages will be REMOVED:\n")
        for e in gone:
            print(f"  {e['name']:<18} {e['version']}-{e['build_string']}")
        print()
    if changed:
        print("The following packages will be UPDATED/DOWNGRADED:\n")
        for old, e in changed:
            print(f"  {e['name']:<18} {old['version']} --> {e['version']}")
        print()


# -- install / create --------------------------------------------------------------------
def install(ctx, prefix, specs, channels, argv, *, newenv=False, force_reinstall=False,
            no_deps=False, prune_roots=None, history_specs=None):
    """Install conda specs into prefix (creating the venv if needed).  Returns a Result, or
    None when there is nothing to do.  prune_roots: conda specs whose dependency closure
    (plus what pip-installed packages need) is kept; other conda packages are removed."""
    specs = parse_specs(specs)
    check_python(specs)
    pd = PrefixData(prefix)
    exists = has_python(prefix)
    dists = distributions(prefix) if exists else {}
    if exists:
        pd.records()  # conda loads every record first; a broken one fails here
    wants_python = bool(specs) and not exists
    pip_version = os.path.basename(pipops.pip_package_dir(ctx.root)).split("-")[1]
    need = []
    for s in specs:
        if s.name == "python":
            continue
        if force_reinstall or not _satisfied(s, dists, prefix):
            if s.name == "pip" and not exists and s.matches(pip_version):
                continue  # the pip linked into every new environment fits
            need.append(s)
    prune_keys = set()
    if prune_roots is not None and exists:
        conda_keys = set(pd.conda_dists())
        roots = [MatchSpec.parse(r).pypi for r in prune_roots] + ["pip"]
        pypi_roots = [k for k in dists if k not in conda_keys]
        keep = _closure(dists, roots + pypi_roots)
        prune_keys = {k for k in conda_keys if k not in keep}
    if not need and not wants_python and not prune_keys:
        return None

    index = PackageIndex(channels)
    if need and not ctx.offline:
        check_available(ctx, index, need)
    cache = os.path.join(ctx.writable_pkgs_dir(), "pip-cache") if ctx.writable_pkgs_dir() \
        else None
    requested = {normalize(s.pypi): s for s in specs}
    if not ctx.json and not ctx.quiet:
        print("Channels:\n" + "\n".join(f" - {c.name}" for c in channels))
        print("Platform: linux-64\nCollecting package metadata (Miniforge stand-in: the "
              "channels' package indexes): done\nSolving environment (Miniforge stand-in: "
              "pip): done")

    if ctx.dry_run or (not ctx.always_yes and not ctx.json):
        python = os.path.join(prefix, "bin", "python") if exists else \
            pipops.base_python(ctx.root)
        items = pipops.pip_install(python, [s.requirement() for s in need], channels, cache,
                                   dry_run=True, ignore_installed=not exists,
                                   force_reinstall=force_reinstall, no_deps=no_deps,
                                   verbose=ctx.verbose, insecure=ctx.insecure,
                                   offline=ctx.offline) if need else []
        plan = Result(prefix)
        if wants_python:
            plan.link.append(dist_fields(_python_record(channels)))
            if not any(normalize(i.get("metadata", {}).get("name", "")) == "pip"
                       for i in items):
                plan.link.append(dist_fields(make_record(
                    "pip", pip_version, channels[0] if channels else None, "noarch")))
        for item in items:
            meta = item.get("metadata", {})
            channel = index.channel_of_url(item.get("download_info", {}).get("url", ""))
            key = normalize(meta.get("name", ""))
            rec = make_record(conda_name(meta.get("name", key)), meta.get("version", "?"),
                              channel,
                              "noarch" if (item.get("download_info", {}).get("url", "")
                                           .endswith("-none-any.whl")) else "linux-64")
            plan.link.append(dist_fields(rec))
            plan.fetch.append(dist_fields(rec))
            if key in dists:
                old = pd.conda_dists().get(key)
                plan.unlink.append(dist_fields(old) if old else
                                   {"name": dists[key].name, "version": dists[key].version,
                                    "build_string": "pypi_0"})
        for key in sorted(prune_keys):
            plan.unlink.append(dist_fields(pd.conda_dists()[key]))
        print_plan(ctx, prefix, [s.original for s in specs], plan)
        if ctx.dry_run:
            return plan
        confirm_yn(ctx)

    # execute
    result = Result(prefix)
    created_here = False
    before = {}
    try:
        if wants_python:
            created_here = newenv or not os.path.exists(prefix)
            pipops.make_venv(ctx.root, prefix)
            py = _python_record(channels)
            pd.write_record(py)
            pip_dist = distributions(prefix).get("pip")
            pip_rec = make_record("pip", pip_dist.version, channels[0] if channels else None,
                                  "noarch", pypi_name="pip",
                                  url="file://" + pipops.pip_package_dir(ctx.root),
                                  requested_spec=requested["pip"].original
                                  if "pip" in requested else "")
            pd.write_record(pip_rec)
            result.link += [dist_fields(py), dist_fields(pip_rec)]
        before = _snapshot(prefix)
        old_records = pd.conda_dists()
        items = []
        if need:
            items = pipops.pip_install(os.path.join(prefix, "bin", "python"),
                                       [s.requirement() for s in need], channels, cache,
                                       force_reinstall=force_reinstall, no_deps=no_deps,
                                       verbose=ctx.verbose, insecure=ctx.insecure,
                                       offline=ctx.offline)
        if prune_keys:
            names = [before[k][1].pypi for k in sorted(prune_keys) if k in before]
            pipops.pip_uninstall(os.path.join(prefix, "bin", "python"), names, ctx.verbose)
    except BaseException:
        if created_here:  # conda rolls a failed new environment back
            from .prefix import rm_rf
            rm_rf(prefix)
        raise
    after = _snapshot(prefix)
    urls = {normalize(i.get("metadata", {}).get("name", "")):
            i.get("download_info", {}).get("url", "") for i in items}
    for key, (version, dist) in sorted(after.items()):
        if key in before and before[key][0] == version and key not in urls:
            continue
        channel = index.channel_of_url(urls.get(key, "")) if urls.get(key) else \
            (channels[0] if channels else None)
        spec = requested.get(key)
        rec = make_record(dist.name, version, channel, dist.subdir, url=urls.get(key, ""),
                          depends=[str(r) for r in dist.requires],
                          requested_spec=spec.original if spec else "",
                          pypi_name=dist.pypi)
        pd.write_record(rec)
        result.link.append(dist_fields(rec))
        if urls.get(key):
            result.fetch.append(dist_fields(rec))
        if key in before:
            old = old_records.get(key)
            result.unlink.append(dist_fields(old) if old else pypi_like(before[key][1]))
    for key, (_version, dist) in sorted(before.items()):
        if key not in after:
            old = old_records.get(key)
            if old:
                pd.remove_record(old["name"])
            result.unlink.append(dist_fields(old) if old else pypi_like(dist))
    if wants_python or result.link or result.unlink:
        linked = [f"{e['channel']}/{e['platform']}::{e['dist_name']}" for e in result.link
                  if e["channel"] != "pypi"]
        unlinked = [f"{e['channel']}/{e['platform']}::{e['dist_name']}"
                    for e in result.unlink if e.get("channel") not in (None, "pypi")]
        pd.history_append(argv, linked, unlinked,
                          update_specs=history_specs if history_specs is not None
                          else [s.original for s in specs])
    register_env(prefix)
    if not ctx.json and not ctx.quiet:
        if ctx.always_yes:
            print_plan(ctx, prefix, [], result)
        print("\nDownloading and Extracting Packages: done\nPreparing transaction: done\n"
              "Verifying transaction: done\nExecuting transaction: done")
    return result


def pypi_like(dist):
    return {"base_url": "https://pypi.org/", "build_number": 0, "build_string": "pypi_0",
            "channel": "pypi", "dist_name": f"{dist.name}-{dist.version}-pypi_0",
            "name": dist.name, "platform": "pypi", "version": dist.version}


def _python_record(channels):
    return make_record("python", platform.python_version(), channels[0] if channels else None,
                       "linux-64", kind="runtime",
                       url=f"file://{os.path.realpath(sys.executable)}")


def create_empty(ctx, prefix, argv):
    pd = PrefixData(prefix)
    pd.touch_history()
    register_env(prefix)
    return Result(prefix)


# -- remove ------------------------------------------------------------------------------
def remove(ctx, prefix, names, argv, force=False):
    """conda remove NAME...: conda packages only; their conda dependents go too unless
    --force.  Returns a Result."""
    pd = PrefixData(prefix)
    pd.records()  # conda loads every record first; a broken one fails here
    conda = pd.conda_dists()
    by_name = {r["name"]: r for r in conda.values()}
    specs = parse_specs(names)
    missing = [s.original for s in specs if s.name not in by_name or not s.matches(
        by_name[s.name]["version"])]
    if missing:
        raise PackagesNotFoundError(missing)
    if os.path.realpath(prefix) == os.path.realpath(ctx.root):
        protected = [s.name for s in specs if s.name in BASE_PROTECTED]
        if protected:
            raise RemoveError(f"'{protected[0]}' is a dependency of conda and cannot be "
                              "removed from\nconda's operating environment.")
    if any(s.name in ("python", "pip") for s in specs):
        raise RemoveError("the Miniforge stand-in cannot remove python or pip from an "
                          "environment (its environments are virtualenvs); remove the "
                          "environment with --all instead")
    dists = distributions(prefix)
    gone = {normalize(by_name[s.name].get("standin", {}).get("pypi_name") or s.name)
            for s in specs}
    if not force:
        changed = True
        while changed:
            changed = False
            for key in conda:
                if key in gone or key not in dists:
                    continue
                if any(canonicalize_name(r.name) in gone for r in dists[key].requires):
                    gone.add(key)
                    changed = True
    result = Result(prefix)
    result.unlink = [dist_fields(conda[k]) for k in sorted(gone) if k in conda]
    print_plan(ctx, prefix, [s.original for s in specs], result, remove=True)
    if ctx.dry_run:
        raise DryRunExit()
    if not ctx.json:
        confirm_yn(ctx)
    pipops.pip_uninstall(os.path.join(prefix, "bin", "python"),
                         [dists[k].pypi for k in sorted(gone) if k in dists], ctx.verbose)
    for key in gone:
        if key in conda:
            pd.remove_record(conda[key]["name"])
    pd.history_append(argv, unlinked=[history_line(conda[k]) for k in sorted(gone)
                                      if k in conda],
                      remove_specs=[s.original for s in specs])
    return result


def check_prefix(ctx, prefix):
    """conda's check_prefix for new environments (env create)."""
    name = os.path.basename(prefix)
    if os.pathsep in prefix:
        raise CondaValueError(f"Cannot create a conda environment with '{os.pathsep}' in the "
                              "prefix. Aborting.")
    if name == "base" and os.path.dirname(prefix) != "":
        raise CondaValueError(f"'{name}' is a reserved environment name")
    if os.path.exists(prefix):
        if os.path.isdir(prefix) and "conda-meta" not in os.listdir(prefix):
            return
        raise CondaValueError(f"prefix already exists: {prefix}")


def is_env(prefix):
    return is_conda_environment(prefix)
