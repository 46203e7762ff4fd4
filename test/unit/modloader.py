"""Load the package's custom Salt modules as plain Python modules with stand-in dunders."""

import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load(kind, name, salt=None, opts=None):
    """Import ``_modules/<name>.py`` (kind='_modules') or ``_states`` with dunders set;
    ``__utils__`` holds the package's ``_utils/`` functions as Salt's loader names them."""
    spec = importlib.util.spec_from_file_location(f"{kind}_{name}", ROOT / kind / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.__salt__ = salt if salt is not None else {}
    module.__opts__ = opts if opts is not None else {"id": "zk1", "test": False}
    module.__utils__ = utils()
    return module


def load_util(name):
    """Import ``_utils/<name>.py`` as a plain module."""
    spec = importlib.util.spec_from_file_location(f"_utils_{name}", ROOT / "_utils" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def utils():
    """``__utils__`` as Salt fills it: ``'<file>.<function>'`` for every public function."""
    found = {}
    for path in sorted((ROOT / "_utils").glob("*.py")):
        module = load_util(path.stem)
        for attr in dir(module):
            value = getattr(module, attr)
            if callable(value) and not attr.startswith("_") and \
                    getattr(value, "__module__", None) == module.__name__:
                found[f"{path.stem}.{attr}"] = value
    return found



def load_tool(name):
    """Import ``tools/<name>.py`` (the repository's command-line tools) as module ``name``."""
    import sys
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
