"""`conda` of the Miniforge stand-in: conda's commands, arguments, exit codes and JSON.

Implemented: info, env list|create|update|remove, list, create, install, remove
(uninstall), run, config --show, shell.posix (for etc/profile.d/conda.sh), --version.
Commands conda has but the stand-in does not implement exit 2 and say so.
"""

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

from . import BUILD, CONDA_VERSION, STANDIN_NOTE, ops, pipops
from .config import SUBDIR, dumps, load
from .errors import (
    ArgumentError,
    CondaEnvException,
    CondaEnvironmentError,
    CondaError,
    CondaValueError,
    DirectoryNotACondaEnvironmentError,
    DryRunExit,
    EnvironmentFileNotFound,
    EnvironmentLocationNotFound,
    StandinNotImplemented,
    report,
)
from .prefix import (
    PrefixData,
    is_conda_environment,
    path_is_clean,
    registered_envs,
    rm_rf,
    unregister_env,
)

NOT_IMPLEMENTED = ["update", "upgrade", "search", "clean", "compare", "export", "init",
                   "rename", "package", "notices", "doctor", "build", "index"]
DISALLOWED_NAME_CHARS = ("/", " ", ":", "#")


def out_json(obj):
    sys.stdout.write(dumps(obj) + "\n")
    sys.stdout.flush()


def success(**kwargs):
    result = {"success": True}
    result.update(kwargs)
    out_json(result)


# -- prefixes ----------------------------------------------------------------------------
def target_prefix(ctx, name=None, prefix=None):
    """conda's determine_target_prefix."""
    if prefix:
        return os.path.abspath(os.path.expanduser(prefix))
    if name is not None:
        if not name.strip():
            raise ArgumentError("Argument --name requires a value.")
        if any(c in name for c in DISALLOWED_NAME_CHARS):
            raise CondaValueError(f"Invalid environment name: '{name}'\n"
                                  f"  Characters not allowed: {DISALLOWED_NAME_CHARS}")
        if name in ("base", "root"):
            return ctx.root
        for envs_dir in ctx.envs_dirs:
            candidate = os.path.join(envs_dir, name)
            if os.path.isdir(candidate):
                return os.path.abspath(candidate)
        return os.path.join(ctx.first_writable_envs_dir(), name)
    return os.environ.get("CONDA_PREFIX") or ctx.root


def env_name(ctx, prefix):
    if os.path.realpath(prefix) == os.path.realpath(ctx.root):
        return "base"
    for envs_dir in ctx.envs_dirs:
        if os.path.dirname(os.path.normpath(prefix)) == os.path.normpath(envs_dir):
            return os.path.basename(prefix)
    return None


def all_known_prefixes(ctx):
    """conda's list_all_known_prefixes: environments.txt, envs_dirs, the root; sorted."""
    found = {p for p in registered_envs() if is_conda_environment(p)}
    for envs_dir in ctx.envs_dirs:
        if os.path.isdir(envs_dir):
            for entry in os.scandir(envs_dir):
                if is_conda_environment(entry.path):
                    found.add(entry.path)
    found.add(ctx.root)
    return sorted(found)


def existing_env(ctx, args):
    prefix = target_prefix(ctx, args.name, args.prefix)
    if not is_conda_environment(prefix):
        raise EnvironmentLocationNotFound(prefix)
    return prefix


def read_spec_files(files):
    specs = []
    for path in files or []:
        try:
            lines = open(path, encoding="utf-8").read().splitlines()
        except OSError:
            raise CondaValueError(f"could not read file: {path}") from None
        for line in lines:
            line = line.split("#", 1)[0].strip()
            if line == "@EXPLICIT":
                raise StandinNotImplemented("explicit (@EXPLICIT) spec files are not "
                                            "implemented by the Miniforge stand-in")
            if line:
                specs.append(line)
    return specs


# -- info / env list ---------------------------------------------------------------------
def info_dict(ctx):
    channels = ctx.channels_for()
    active = os.environ.get("CONDA_PREFIX")
    home = os.path.expanduser("~")
    uname = platform.uname()
    return {
        "active_prefix": active,
        "active_prefix_name": env_name(ctx, active) if active else None,
        "av_data_dir": os.path.join(ctx.root, "etc", "conda"),
        "av_metadata_url_base": None,
        "channels": [u for c in channels for u in c.subdir_urls()],
        "conda_build_version": "not installed",
        "conda_env_version": CONDA_VERSION,
        "conda_location": os.path.dirname(os.path.abspath(__file__)),
        "conda_prefix": ctx.root,
        "conda_shlvl": int(os.environ.get("CONDA_SHLVL", "-1") or -1),
        "conda_version": CONDA_VERSION,
        "config_files": ctx.config_files,
        "default_prefix": active or ctx.root,
        "env_vars": {k: v for k, v in os.environ.items() if k.startswith("CONDA")},
        "envs": all_known_prefixes(ctx),
        "envs_dirs": ctx.envs_dirs,
        "netrc_file": None,
        "offline": bool(ctx.rc.get("offline", False)),
        "pkgs_dirs": ctx.pkgs_dirs,
        "platform": SUBDIR,
        "python_version": f"{platform.python_version()}.final.0",
        "rc_path": os.path.join(home, ".condarc"),
        "requests_version": "not installed",
        "root_prefix": ctx.root,
        "root_writable": ctx.root_writable,
        "site_dirs": [],
        "solver": {"default": True, "name": "standin-pip",
                   "user_agent": f"solver/standin-pip pip/{BUILD.get('pip_version')}"},
        "standin": {
            "note": STANDIN_NOTE,
            "miniforge_version": BUILD.get("miniforge_version"),
            "pip_version": BUILD.get("pip_version"),
            "channel_lookups": {c.name: c.lookups for c in channels},
            "readme": "test/standins/conda/README.md in the storm-sklearn formulas' sources",
        },
        "sys.executable": sys.executable,
        "sys.prefix": sys.prefix,
        "sys.version": sys.version,
        "sys_rc_path": os.path.join(ctx.root, ".condarc"),
        "user_agent": f"conda/{CONDA_VERSION} CPython/{platform.python_version()} "
                      f"{uname.system}/{uname.release} standin/miniforge",
        "user_rc_path": os.path.join(home, ".condarc"),
        "virtual_pkgs": [["__archspec", "1", uname.machine], ["__glibc", platform.libc_ver()[1]
                                                                or "0", "0"],
                         ["__linux", uname.release.split("-")[0], "0"], ["__unix", "0", "0"]],
    }


def print_envs(ctx, prefixes):
    active = os.environ.get("CONDA_PREFIX")
    print("# conda environments:\n#")
    for prefix in prefixes:
        name = env_name(ctx, prefix) or ""
        mark = "*" if active and os.path.realpath(active) == os.path.realpath(prefix) else " "
        print(f"{name:<25}{mark}  {prefix}")
    print()


def cmd_info(ctx, args):
    if args.base:
        if ctx.json:
            out_json({"root_prefix": ctx.root})
        else:
            print(ctx.root)
        return 0
    info = info_dict(ctx)
    if ctx.json:
        out_json(info)
        return 0
    if args.envs:
        print_envs(ctx, info["envs"])
        return 0
    rows = [
        ("active environment", info["active_prefix_name"] or info["active_prefix"] or "None"),
        ("user config file", info["user_rc_path"]),
        ("populated config files", "\n".join(info["config_files"]) or ""),
        ("conda version", info["conda_version"]),
        ("conda-build version", "not installed"),
        ("python version", info["python_version"]),
        ("solver", "standin-pip (default)"),
        ("base environment", f"{ctx.root}  ({'writable' if ctx.root_writable else 'read only'})"),
        ("channel URLs", "\n".join(info["channels"])),
        ("package cache", "\n".join(info["pkgs_dirs"])),
        ("envs directories", "\n".join(info["envs_dirs"])),
        ("platform", SUBDIR),
        ("user-agent", info["user_agent"]),
        ("STAND-IN", STANDIN_NOTE),
    ]
    print()
    for key, value in rows:
        lines = str(value).splitlines() or [""]
        print(f"{key:>26} : {lines[0]}")
        for more in lines[1:]:
            print(f"{'':>26}   {more}")
    print()
    return 0


def cmd_env_list(ctx, args):
    envs = all_known_prefixes(ctx)
    if ctx.json:
        out_json({"envs": envs})
    else:
        print_envs(ctx, envs)
    return 0


# -- create / install --------------------------------------------------------------------
def _channels(ctx, args):
    return ctx.channels_for(args.channel, args.override_channels, args.use_local)


def _refuse(args, *names):
    for name in names:
        if getattr(args, name, None):
            flag = "--" + name.replace("_", "-")
            raise StandinNotImplemented(f"{flag} is not implemented by the Miniforge stand-in")


def _finish_install(ctx, args, prefix, result, newenv):
    if ctx.dry_run:
        if ctx.json:
            success(actions=result.actions(), dry_run=True, prefix=prefix)
        raise DryRunExit()
    if result is None:
        if ctx.json:
            success(message="All requested packages already installed.")
        else:
            print("\n# All requested packages already installed.\n")
        return 0
    if ctx.json:
        success(actions=result.actions(), prefix=prefix)
    elif newenv:
        ops.print_activate(ctx, args.name or prefix)
    return 0


def cmd_create(ctx, args, argv):
    _refuse(args, "clone", "download_only", "only_deps")
    if not args.name and not args.prefix:
        if ctx.dry_run:
            args.prefix = os.path.join(tempfile.mkdtemp(), "unused-env-name")
        else:
            raise ArgumentError("one of the arguments -n/--name -p/--prefix is required")
    prefix = target_prefix(ctx, args.name, args.prefix)
    if is_conda_environment(prefix):
        if os.path.realpath(prefix) == os.path.realpath(ctx.root):
            raise CondaValueError("The target prefix is the base prefix. Aborting.")
        if ctx.dry_run:
            raise CondaValueError("Cannot `create --dry-run` with an existing conda "
                                  "environment")
        ops.confirm_yn(ctx, f"WARNING: A conda environment already exists at '{prefix}'\n\n"
                       "Remove existing environment?\nThis will remove ALL directories "
                       "contained within this specified prefix directory, including any "
                       "other conda environments.\n\n", default="no", dry_run=False)
        rm_rf(prefix)
    elif os.path.isdir(prefix):
        ops.check_prefix(ctx, prefix)
        ops.confirm_yn(ctx, f"WARNING: A directory already exists at the target location "
                       f"'{prefix}'\nbut it is not a conda environment.\nContinue creating "
                       "environment", default="no", dry_run=False)
    specs = list(args.packages) + read_spec_files(args.file)
    if not args.no_default_packages:
        names = {re.split(r"[=<>!~ \[]", s, maxsplit=1)[0].lower() for s in specs}
        specs += [p for p in ctx.create_default_packages
                  if re.split(r"[=<>!~ \[]", p, maxsplit=1)[0].lower() not in names]
    channels = _channels(ctx, args)
    if not specs:
        if ctx.dry_run:
            return _finish_install(ctx, args, prefix, ops.Result(prefix), True)
        result = ops.create_empty(ctx, prefix, argv)
        return _finish_install(ctx, args, prefix, result, True)
    result = ops.install(ctx, prefix, specs, channels, argv, newenv=True,
                         no_deps=args.no_deps)
    return _finish_install(ctx, args, prefix, result or ops.Result(prefix), True)


def cmd_install(ctx, args, argv):
    _refuse(args, "clone", "download_only", "only_deps", "revision")
    prefix = target_prefix(ctx, args.name, args.prefix)
    if not os.path.isdir(prefix):
        raise EnvironmentLocationNotFound(prefix)
    if not is_conda_environment(prefix) and not path_is_clean(prefix):
        raise DirectoryNotACondaEnvironmentError(prefix)
    specs = list(args.packages) + read_spec_files(args.file)
    if not specs:
        raise CondaValueError("too few arguments, must supply command line package specs or "
                              "--file\n\nExample: conda install -n myenv scipy\n")
    result = ops.install(ctx, prefix, specs, _channels(ctx, args), argv,
                         force_reinstall=args.force_reinstall, no_deps=args.no_deps)
    return _finish_install(ctx, args, prefix, result, False)


# -- remove ------------------------------------------------------------------------------
def remove_all(ctx, prefix, keep_env=False):
    pd = PrefixData(prefix)
    entries = [e for kind, e in pd.listing()]
    result = ops.Result(prefix)
    result.unlink = entries
    if not ctx.json:
        print(f"\nRemove all packages in environment {prefix}:\n", file=sys.stderr)
    ops.print_plan(ctx, prefix, [], result, remove=True)
    if ctx.dry_run:
        if ctx.json:
            success(actions=result.actions(), dry_run=True, prefix=prefix)
        raise DryRunExit()
    if not ctx.json:
        ops.confirm_yn(ctx)
    if keep_env:
        for name in os.listdir(prefix):
            if name != "conda-meta":
                rm_rf(os.path.join(prefix, name))
        for name in os.listdir(pd.meta):
            if name != "history":
                rm_rf(os.path.join(pd.meta, name))
        pd.history_append(sys.argv, unlinked=[f"{e['channel']}/{e['platform']}::"
                                              f"{e['dist_name']}" for e in entries
                                              if e["channel"] != "pypi"], remove_specs=[])
    else:
        rm_rf(prefix)
        unregister_env(prefix)
    if ctx.json:
        success(actions=result.actions(), prefix=prefix)
    return 0


def cmd_remove(ctx, args, argv):
    if not (args.all or args.package_names):
        raise CondaValueError('no package names supplied,\n       try "conda remove -h" for '
                              "more details")
    prefix = target_prefix(ctx, args.name, args.prefix)
    active = os.environ.get("CONDA_PREFIX")
    if args.all and active and os.path.realpath(prefix) == os.path.realpath(active):
        raise CondaEnvironmentError("Cannot remove current environment. Deactivate and run "
                                    "conda remove again")
    if args.all and path_is_clean(prefix):
        return 0
    if args.all:
        if os.path.realpath(prefix) == os.path.realpath(ctx.root):
            raise CondaEnvironmentError("cannot remove root environment, add -n NAME or -p "
                                        "PREFIX option")
        if not is_conda_environment(prefix):
            raise DirectoryNotACondaEnvironmentError(prefix)
        return remove_all(ctx, prefix, keep_env=args.keep_env)
    if not is_conda_environment(prefix):
        raise EnvironmentLocationNotFound(prefix)
    result = ops.remove(ctx, prefix, args.package_names, argv, force=args.force)
    if ctx.json:
        success(actions=result.actions(), prefix=prefix)
    return 0


# -- list --------------------------------------------------------------------------------
def cmd_list(ctx, args):
    prefix = existing_env(ctx, args)
    pd = PrefixData(prefix)
    if args.revisions:
        revs = pd.revisions()
        if ctx.json:
            out_json(revs)
        else:
            for rev in revs:
                print(f"{rev['date']}  (rev {rev['rev']})")
                for line in rev["install"]:
                    print(f"    +{line}")
                for line in rev["remove"]:
                    print(f"    -{line}")
                print()
        return 0
    entries = pd.listing(include_pypi=not args.no_pip)
    if args.regex:
        if args.full_name:
            entries = [(k, e) for k, e in entries if e["name"] == args.regex]
        else:
            pattern = re.compile(args.regex, re.I)
            entries = [(k, e) for k, e in entries if pattern.search(e["name"])]
    if ctx.json:
        out_json([e for _, e in entries])
        return 0
    if args.export or args.canonical:
        if args.export:
            print("# This file may be used to create an environment using:\n"
                  "# $ conda create --name <env> --file <this file>\n# platform: linux-64")
        for _, e in entries:
            if args.canonical:
                print(f"{e['channel']}/{e['platform']}::{e['dist_name']}")
            else:
                print(f"{e['name']}={e['version']}={e['build_string']}")
        return 0
    if args.explicit:
        records = pd.records()
        print("# This file may be used to create an environment using:\n"
              "# $ conda create --name <env> --file <this file>\n# platform: linux-64\n"
              "@EXPLICIT")
        for _, e in entries:
            rec = records.get(e["name"])
            if rec:
                print(rec.get("url", ""))
        return 0
    fmt = "{:<25} {:<15} {:>15}  {}"
    print(f"# packages in environment at {prefix}:\n#")
    print(fmt.format("# Name", "Version", "Build", "Channel"))
    for _, e in entries:
        print(fmt.format(e["name"], e["version"], e["build_string"], e["channel"]))
    return 0


# -- environment files -------------------------------------------------------------------
class EnvFile:
    def __init__(self, path):
        if not os.path.isfile(path):
            raise EnvironmentFileNotFound(os.path.abspath(path))
        self.path = os.path.abspath(path)
        self.name, self.channels, self.conda, self.pip, self.variables = None, [], [], [], {}
        text = open(path, encoding="utf-8").read()
        if path.endswith(".txt"):
            self.conda = read_spec_files([path])
            return
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise CondaEnvException(f"Invalid environment file {path}:\n{exc}") from None
        if not isinstance(data, dict):
            raise CondaEnvException(f"Invalid environment file {path}: not a mapping")
        self.name = data.get("name")
        self.channels = [str(c) for c in data.get("channels") or []]
        self.variables = dict(data.get("variables") or {})
        deps = data.get("dependencies") or []
        if not isinstance(deps, list):
            raise CondaEnvException("Invalid environment file: 'dependencies' must be a list")
        for dep in deps:
            if isinstance(dep, dict):
                for installer, specs in dep.items():
                    if installer != "pip":
                        raise CondaError(
                            f"Unable to install package for {installer}.\n\nPlease double "
                            "check and ensure your dependencies file has\nthe correct "
                            "spelling. You might also try installing the\n"
                            f"conda-env-{installer} package to see if provides\nthe required "
                            "installer.\n")
                    self.pip += [str(s) for s in specs or []]
            elif dep is not None:
                self.conda.append(str(dep))
        names = {re.split(r"[=<>!~ \[]", s, maxsplit=1)[0].split("::")[-1].lower()
                 for s in self.conda}
        if self.pip and "pip" not in names:
            print("Warning: you have pip-installed dependencies in your environment file, but "
                  "you do not list pip itself as one of your conda dependencies.  Conda may "
                  "not use the correct pip to install your packages, and they may end up in "
                  "the wrong place.  Please add an explicit pip dependency.  I'm adding one "
                  "for you, but still nagging you.", file=sys.stderr)
            self.conda.append("pip")

    def channel_specs(self, ctx, extra=(), override=False):
        own = [c for c in self.channels if c != "nodefaults"]
        specs = list(extra) + own
        if "nodefaults" not in self.channels and not override:
            specs += ctx.channels
        return ctx.resolve_channels(specs)


def _env_target(ctx, args, env, creating):
    if args.prefix is None and args.name is None:
        if not env.name:
            if creating:
                raise CondaEnvException(
                    "Unable to create environment\nPlease re-run this command with one of the "
                    "following options:\n* Provide an environment name via --name or -n\n"
                    "* Provide a path on disk via --prefix or -p\n")
            raise CondaEnvException(
                "Unable to determine environment\n\nPlease re-run this command with one of "
                "the following options:\n\n* Provide an environment name via --name or -n\n"
                "* Re-run this command inside an activated conda environment.\n")
        args.name = str(env.name)
    return target_prefix(ctx, args.name, args.prefix)


def print_env_result(ctx, args, prefix, result):
    if ctx.json:
        if result["conda"] is None and result["pip"] is None:
            success(message="All requested packages already installed.")
        else:
            actions = result["conda"] if result["conda"] is not None else {}
            if result["pip"] is not None:
                actions["PIP"] = result["pip"]
            success(actions=actions, prefix=prefix)
    else:
        ops.print_activate(ctx, args.name or prefix)


def _run_env(ctx, args, argv, env, prefix, newenv, prune):
    channels = env.channel_specs(ctx, args.channel, args.override_channels)
    result = {"conda": None, "pip": None}
    if env.conda:
        res = ops.install(ctx, prefix, env.conda, channels, argv, newenv=newenv,
                          prune_roots=env.conda if prune else None)
        if ctx.dry_run:
            return res
        result["conda"] = res.actions() if res else None
    elif newenv:
        ops.create_empty(ctx, prefix, argv)
    if env.pip:
        result["pip"] = pipops.pip_section(os.path.join(prefix, "bin", "python"), env.pip,
                                           os.path.dirname(env.path), ctx.quiet, ctx.json)
    if env.variables:
        PrefixData(prefix).set_env_vars(env.variables)
    return result


def cmd_env_create(ctx, args, argv):
    env = EnvFile(args.file)
    prefix = _env_target(ctx, args, env, creating=True)
    if (args.yes or args.force) and os.path.realpath(prefix) != os.path.realpath(ctx.root) \
            and os.path.exists(prefix):
        rm_rf(prefix)
    ops.check_prefix(ctx, prefix)
    if ctx.dry_run:
        specs = {"name": args.name or env.name, "channels": env.channels,
                 "dependencies": env.conda + ([{"pip": env.pip}] if env.pip else [])}
        out_json(specs) if ctx.json else print(yaml.safe_dump(specs, sort_keys=False))
        return 0
    result = _run_env(ctx, args, argv, env, prefix, newenv=True, prune=False)
    print_env_result(ctx, args, prefix, result)
    return 0


def cmd_env_update(ctx, args, argv):
    env = EnvFile(args.file)
    prefix = _env_target(ctx, args, env, creating=False)
    if os.path.realpath(prefix) == os.path.realpath(ctx.root) and args.prune:
        raise CondaEnvironmentError("--prune of the base environment is refused by the "
                                    "Miniforge stand-in")
    newenv = not is_conda_environment(prefix)
    result = _run_env(ctx, args, argv, env, prefix, newenv=newenv, prune=args.prune)
    if ctx.dry_run:
        if ctx.json:
            success(actions=result.actions() if result else {}, dry_run=True, prefix=prefix)
        raise DryRunExit()
    print_env_result(ctx, args, prefix, result)
    return 0


def cmd_env_remove(ctx, args, argv):
    args.all, args.package_names, args.force = True, [], True
    args.keep_env = False
    return cmd_remove(ctx, args, argv)


# -- run ---------------------------------------------------------------------------------
def activation_env(ctx, prefix, base=None):
    env = dict(base if base is not None else os.environ)
    old = env.get("CONDA_PREFIX")
    parts = [p for p in env.get("PATH", "").split(os.pathsep) if p]
    if old:
        parts = [p for p in parts if os.path.normpath(p) != os.path.join(old, "bin")]
    parts.insert(0, os.path.join(prefix, "bin"))
    condabin = os.path.join(ctx.root, "condabin")
    if condabin not in parts:
        parts.append(condabin)
    name = env_name(ctx, prefix) or prefix
    env.update({"PATH": os.pathsep.join(parts), "CONDA_PREFIX": prefix,
                "CONDA_DEFAULT_ENV": name, "CONDA_PROMPT_MODIFIER": f"({name}) ",
                "CONDA_SHLVL": "1", "CONDA_EXE": os.path.join(ctx.root, "bin", "conda"),
                "CONDA_PYTHON_EXE": os.path.join(ctx.root, "bin", "python")})
    env.update(PrefixData(prefix).env_vars())
    return env


def cmd_run(ctx, args):
    prefix = target_prefix(ctx, args.name, args.prefix)
    if not is_conda_environment(prefix):
        raise EnvironmentLocationNotFound(prefix)
    if not args.executable_call:
        raise ArgumentError("No command specified. Please specify a command to run.")
    env = activation_env(ctx, prefix)
    call = list(args.executable_call)
    exe = shutil.which(call[0], path=env["PATH"]) if "/" not in call[0] else call[0]
    shown = " ".join(call)
    if not exe or not os.path.exists(exe):
        sys.stderr.write(f"{call[0]}: command not found\n")
        sys.stderr.write(f"ERROR conda.cli.main_run:execute(127): `conda run {shown}` "
                         "failed. (See above for error)\n")
        return 127
    live = args.no_capture_output or args.live_stream
    try:
        proc = subprocess.run([exe, *call[1:]], env=env, cwd=args.cwd,
                              capture_output=not live, text=not live)
    except OSError as exc:
        sys.stderr.write(f"{call[0]}: {exc}\n")
        return 126
    if not live:
        sys.stdout.write(proc.stdout)
        sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        sys.stderr.write(f"ERROR conda.cli.main_run:execute(127): `conda run {shown}` "
                         "failed. (See above for error)\n")
    return proc.returncode


# -- shell integration -------------------------------------------------------------------
def _sh_quote(value):
    return "'" + str(value).replace("'", "'\"'\"'") + "'"


def cmd_shell(ctx, args):
    command = args.shell_command
    if command == "hook":
        print(open(os.path.join(ctx.root, "etc", "profile.d", "conda.sh")).read())
        if ctx.rc.get("auto_activate_base", True):
            print("conda activate base")
        return 0
    if command == "reactivate":
        return 0
    if command == "activate":
        target = args.rest[0] if args.rest else "base"
        prefix = target_prefix(ctx, None, target) if "/" in target else \
            target_prefix(ctx, target, None)
        if not is_conda_environment(prefix):
            if "/" in target:
                raise EnvironmentLocationNotFound(prefix)
            from .errors import EnvironmentNameNotFound
            raise EnvironmentNameNotFound(target)
        env = activation_env(ctx, prefix, base=os.environ)
        for key in ("PATH", "CONDA_PREFIX", "CONDA_DEFAULT_ENV", "CONDA_PROMPT_MODIFIER",
                    "CONDA_SHLVL", "CONDA_EXE", "CONDA_PYTHON_EXE",
                    *PrefixData(prefix).env_vars()):
            print(f"export {key}={_sh_quote(env[key])}")
        return 0
    if command == "deactivate":
        old = os.environ.get("CONDA_PREFIX")
        parts = [p for p in os.environ.get("PATH", "").split(os.pathsep)
                 if not old or os.path.normpath(p) != os.path.join(old, "bin")]
        print(f"export PATH={_sh_quote(os.pathsep.join(parts))}")
        for key in ("CONDA_PREFIX", "CONDA_DEFAULT_ENV", "CONDA_PROMPT_MODIFIER",
                    *(PrefixData(old).env_vars() if old else {})):
            print(f"unset {key}")
        print("export CONDA_SHLVL='0'")
        return 0
    raise ArgumentError(f"unknown shell command: {command}")


def cmd_config(ctx, args):
    if not (args.show is not None or args.show_sources):
        raise StandinNotImplemented("the Miniforge stand-in implements `conda config --show "
                                    "[KEY ...]` and `--show-sources` only")
    if args.show_sources:
        from .config import read_condarc
        sources = {path: read_condarc(path) for path in ctx.config_files}
        if ctx.json:
            out_json(sources)
        else:
            for path, data in sources.items():
                print(f"==> {path} <==\n{yaml.safe_dump(data, default_flow_style=False)}")
        return 0
    shown = {
        "always_yes": ctx.always_yes, "auto_activate_base": ctx.rc.get("auto_activate_base",
                                                                       True),
        "channel_alias": ctx.channel_alias, "channel_priority": ctx.rc.get("channel_priority",
                                                                           "flexible"),
        "channels": ctx.channels, "custom_channels": ctx.custom_channels,
        "default_channels": ctx.rc.get("default_channels") or
        ["https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r"],
        "envs_dirs": ctx.envs_dirs, "pkgs_dirs": ctx.pkgs_dirs,
        "create_default_packages": ctx.create_default_packages,
    }
    for key, value in ctx.rc.items():
        shown.setdefault(key, value)
    if args.show:
        unknown = [k for k in args.show if k not in shown]
        if unknown:
            raise ArgumentError(f"Invalid configuration parameters: {unknown}")
        shown = {k: shown[k] for k in args.show}
    if ctx.json:
        out_json(shown)
    else:
        print(yaml.safe_dump(shown, default_flow_style=False), end="")
    return 0


def cmd_not_implemented(ctx, args):
    if args.command in ("activate", "deactivate"):
        raise CondaError(f"Run 'conda init' before 'conda {args.command}'")
    raise StandinNotImplemented(f"`conda {args.command}` is not implemented by the Miniforge "
                                "stand-in (see conda info)")


# -- argument parsing --------------------------------------------------------------------
def _output(p, yes=True, dry=True):
    g = p.add_argument_group("Output, Prompt, and Flow Control Options")
    g.add_argument("--json", action="store_true", help="Report all output as json.")
    g.add_argument("-v", "--verbose", action="count", default=0)
    g.add_argument("-q", "--quiet", action="store_true")
    if dry:
        g.add_argument("-d", "--dry-run", action="store_true")
    if yes:
        g.add_argument("-y", "--yes", action="store_true")
    g.add_argument("--console", help=argparse.SUPPRESS)


def _target(p):
    g = p.add_argument_group("Target Environment Specification").add_mutually_exclusive_group()
    g.add_argument("-n", "--name", help="Name of environment.")
    g.add_argument("-p", "--prefix", help="Full path to environment location (i.e. prefix).")


def _channels_args(p):
    g = p.add_argument_group("Channel Customization")
    g.add_argument("-c", "--channel", action="append", default=[])
    g.add_argument("--use-local", action="store_true")
    g.add_argument("-O", "--override-channels", action="store_true")
    g.add_argument("--repodata-fn", action="append")
    g.add_argument("--experimental", action="append")
    g.add_argument("--no-lock", action="store_true")
    g.add_argument("--repodata-use-zst", action="store_true")
    g.add_argument("--no-repodata-use-zst", action="store_true")
    n = p.add_argument_group("Networking Options")
    n.add_argument("-C", "--use-index-cache", action="store_true")
    n.add_argument("-k", "--insecure", action="store_true")
    n.add_argument("--offline", action="store_true")


def _solver(p):
    g = p.add_argument_group("Solver Mode Modifiers")
    g.add_argument("--strict-channel-priority", action="store_true")
    g.add_argument("--no-channel-priority", action="store_true")
    g.add_argument("--no-deps", action="store_true")
    g.add_argument("--only-deps", action="store_true")
    g.add_argument("--no-pin", action="store_true")
    g.add_argument("--solver")
    g.add_argument("--copy", action="store_true")
    g.add_argument("--no-shortcuts", action="store_true")
    g.add_argument("--shortcuts-only", action="append")
    g.add_argument("--clobber", action="store_true")
    g.add_argument("--subdir", "--platform", dest="subdir")
    g.add_argument("--download-only", action="store_true")
    g.add_argument("--show-channel-urls", action="store_true")
    g.add_argument("--file", action="append", default=[])
    g.add_argument("--dev", action="store_true", help=argparse.SUPPRESS)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="conda", description="conda is a tool for managing and deploying applications, "
        "environments and packages.  " + STANDIN_NOTE)
    parser.add_argument("-V", "--version", action="version", version=f"conda {CONDA_VERSION}")
    parser.add_argument("--no-plugins", action="store_true")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("info", help="Display information about current conda install.")
    p.add_argument("-a", "--all", action="store_true")
    p.add_argument("--base", action="store_true")
    p.add_argument("-e", "--envs", action="store_true")
    p.add_argument("-s", "--system", action="store_true")
    p.add_argument("--unsafe-channels", action="store_true")
    _output(p, yes=False, dry=False)
    p.set_defaults(func=cmd_info)

    for cmd in ("create", "install"):
        p = sub.add_parser(cmd, help=f"conda {cmd}")
        if cmd == "create":
            p.add_argument("--clone")
            p.add_argument("--no-default-packages", action="store_true")
            p.add_argument("-m", "--mkdir", action="store_true")
            p.set_defaults(func=cmd_create, argv=True, force_reinstall=False)
        else:
            p.add_argument("--revision")
            p.add_argument("--force-reinstall", action="store_true")
            p.add_argument("--freeze-installed", "--no-update-deps", action="store_true")
            p.add_argument("--update-deps", action="store_true")
            p.add_argument("-S", "--satisfied-skip-solve", action="store_true")
            p.add_argument("--update-all", "--all", action="store_true")
            p.add_argument("--update-specs", action="store_true")
            p.add_argument("-m", "--mkdir", action="store_true")
            p.set_defaults(func=cmd_install, argv=True, clone=None)
        p.add_argument("packages", nargs="*", metavar="package_spec")
        _target(p)
        _channels_args(p)
        _solver(p)
        _output(p)

    for cmd in ("remove", "uninstall"):
        p = sub.add_parser(cmd, help="Remove a list of packages from a conda environment.")
        p.add_argument("--all", action="store_true")
        p.add_argument("--keep-env", action="store_true")
        p.add_argument("--features", action="store_true")
        p.add_argument("--force", "--force-remove", action="store_true")
        p.add_argument("--no-pin", action="store_true")
        p.add_argument("--solver")
        p.add_argument("package_names", nargs="*")
        _target(p)
        _channels_args(p)
        _output(p)
        p.set_defaults(func=cmd_remove, argv=True)

    p = sub.add_parser("list", help="List installed packages in a conda environment.")
    p.add_argument("regex", nargs="?")
    p.add_argument("--show-channel-urls", action="store_true")
    p.add_argument("-c", "--canonical", action="store_true")
    p.add_argument("-f", "--full-name", action="store_true")
    p.add_argument("--explicit", action="store_true")
    p.add_argument("--md5", action="store_true")
    p.add_argument("-e", "--export", action="store_true")
    p.add_argument("-r", "--revisions", action="store_true")
    p.add_argument("--no-pip", action="store_true")
    _target(p)
    _output(p, yes=False, dry=False)
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("run", help="Run an executable in a conda environment.")
    p.add_argument("--cwd")
    p.add_argument("--no-capture-output", "--live-stream", dest="no_capture_output",
                   action="store_true")
    p.add_argument("--debug-wrapper-scripts", action="store_true")
    p.add_argument("--dev", action="store_true")
    p.add_argument("-v", "--verbose", action="count", default=0)
    p.add_argument("executable_call", nargs=argparse.REMAINDER)
    _target(p)
    p.set_defaults(func=cmd_run, live_stream=False, json=False)

    p = sub.add_parser("config", help="Show conda configuration (stand-in: read-only).")
    p.add_argument("--show", nargs="*")
    p.add_argument("--show-sources", action="store_true")
    p.add_argument("--system", action="store_true")
    p.add_argument("--env", action="store_true")
    p.add_argument("--file")
    _output(p, yes=False, dry=False)
    p.set_defaults(func=cmd_config)

    env = sub.add_parser("env", help="Create and manage conda environments.")
    env_sub = env.add_subparsers(dest="env_command", metavar="COMMAND")
    env_sub.required = True
    p = env_sub.add_parser("list", help="List the Conda environments.")
    _output(p, yes=False, dry=False)
    p.set_defaults(func=cmd_env_list)
    for cmd in ("create", "update"):
        p = env_sub.add_parser(cmd, help=f"conda env {cmd} -f environment.yml")
        p.add_argument("-f", "--file", default="environment.yml")
        p.add_argument("remote_definition", nargs="?", help=argparse.SUPPRESS)
        _target(p)
        p.add_argument("-c", "--channel", action="append", default=[])
        p.add_argument("-O", "--override-channels", action="store_true")
        p.add_argument("--solver")
        p.add_argument("-C", "--use-index-cache", action="store_true")
        p.add_argument("-k", "--insecure", action="store_true")
        p.add_argument("--offline", action="store_true")
        p.add_argument("--no-default-packages", action="store_true")
        p.add_argument("--subdir", "--platform", dest="subdir")
        if cmd == "create":
            p.add_argument("--force", action="store_true", help="deprecated alias of --yes")
            p.set_defaults(func=cmd_env_create, argv=True, prune=False)
        else:
            p.add_argument("--prune", action="store_true")
            p.set_defaults(func=cmd_env_update, argv=True, force=False)
        _output(p)
    p = env_sub.add_parser("remove", help="Remove an environment.")
    _target(p)
    _output(p)
    p.set_defaults(func=cmd_env_remove, argv=True)

    for cmd in ("shell.posix", "shell.bash", "shell.sh", "shell.zsh"):
        p = sub.add_parser(cmd, help=argparse.SUPPRESS)
        p.add_argument("shell_command")
        p.add_argument("rest", nargs="*")
        p.set_defaults(func=cmd_shell, json=False)

    for cmd in NOT_IMPLEMENTED + ["activate", "deactivate"]:
        p = sub.add_parser(cmd, help=f"(not implemented by the stand-in) conda {cmd}",
                           add_help=False)
        p.add_argument("rest", nargs=argparse.REMAINDER)
        p.set_defaults(func=cmd_not_implemented, json="--json" in sys.argv)
    return parser


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    json_mode = bool(getattr(args, "json", False))
    try:
        ctx = load()
        ctx.json = json_mode
        ctx.quiet = bool(getattr(args, "quiet", False)) or json_mode
        ctx.verbose = int(getattr(args, "verbose", 0) or 0)
        ctx.yes = bool(getattr(args, "yes", False))
        ctx.dry_run = bool(getattr(args, "dry_run", False))
        ctx.offline = bool(getattr(args, "offline", False)) or bool(ctx.rc.get("offline"))
        ctx.insecure = bool(getattr(args, "insecure", False))
        subdir = getattr(args, "subdir", None)
        if subdir and subdir != SUBDIR:
            raise StandinNotImplemented(f"--subdir {subdir}: the Miniforge stand-in serves "
                                        f"{SUBDIR} only")
        if getattr(args, "argv", False):
            return args.func(ctx, args, [sys.argv[0], *argv]) or 0
        return args.func(ctx, args) or 0
    except CondaError as exc:
        return report(exc, json_mode)
    except KeyboardInterrupt:
        return report(CondaError("\nOperation aborted.  Exiting."), json_mode)
