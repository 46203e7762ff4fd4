"""Load the package's custom Salt modules as plain Python modules with stand-in dunders."""

import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load(kind, name, salt=None, opts=None):
    """Import ``_modules/<name>.py`` (kind='_modules') or ``_states`` with dunders set."""
    spec = importlib.util.spec_from_file_location(f"{kind}_{name}", ROOT / kind / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.__salt__ = salt if salt is not None else {}
    module.__opts__ = opts if opts is not None else {"id": "zk1", "test": False}
    return module



def load_tool(name):
    """Import ``tools/<name>.py`` (the repository's command-line tools) as module ``name``."""
    import sys
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
