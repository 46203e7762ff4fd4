"""
The settings schema of the package's formulas, and its one checker.

Every formula declares its settings in ``<formula>/parameters/schema.yaml`` (membership's
``cluster`` schema lives with the clustermap module that owns it).  A schema is plain data,
one node per key::

    heap_mb: {type: int, min: 64, doc: JVM heap of the server in MB}

Custom modules reach this module as ``__utils__['formula_schema.<function>']`` (Salt syncs
``_utils/`` with the modules, on minions and on the master alike); the tests and the docs
tool import it directly.  Nothing here reads the network, the disk or the host: checks are
pure, so a render that runs them stays pure.

Node fields:

``type``
    ``map`` (``keys``: the closed set of settings; ``values``: the node of every other key,
    for maps open by design, with ``names``/``names_doc`` a pattern their keys must match),
    ``list`` (``items``, ``unique``, ``min_items``), ``str`` (``pattern``, ``pattern_doc``,
    ``nonempty``), ``int``, ``number`` (``min``, ``max``), ``bool``, ``port``, ``path``
    (absolute), ``url`` (``schemes``), ``address`` (an IP address or host name: no port,
    no scheme), ``network`` (CIDR), ``hash`` (a sha256/sha512 pin, or with ``urls`` the
    URL of a checksum file), ``version`` (a string, or a whole number), ``scalar`` (string,
    number or boolean), ``secret`` (a string of at least ``min`` characters, no whitespace;
    a refusal never shows it, and :func:`redact` hides it in dumps) or ``any``.
``choices``, ``nullable``, ``required``, ``doc``
    allowed values; whether null (YAML ``~``) is taken; whether the key must be given; the
    one-line meaning the README's settings tables show.

Types are taken as YAML wrote them: a quoted ``"4"`` is not a number, ``"false"`` is not a
boolean, ``1.10`` is the number 1.1.  Every refusal raises ``CommandExecutionError`` whose
message starts with the full key path (``storm:topologies:iris:enabled: ...``) and says the
value and what was expected.
"""

import difflib
import ipaddress
import re

from salt.exceptions import CommandExecutionError

# md5 and sha1 no longer protect a download; hex digits per accepted algorithm.
HASH_ALGORITHMS = {"sha256": 64, "sha512": 128}
HASH_SCHEMES = ("https", "http", "salt", "file")
_HEX = re.compile(r"^[0-9a-f]+$")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*\.?$")
EXPECTED = {
    "map": "a mapping", "list": "a list", "str": "a string", "int": "a whole number",
    "number": "a number", "bool": "true or false", "port": "a TCP port (1-65535)",
    "path": "an absolute path", "url": "a URL", "address": "an IP address or host name",
    "network": "a network such as 10.0.0.0/24", "hash": "a checksum",
    "version": "a version (a quoted string such as '1.2')",
    "scalar": "a string, number or true/false", "any": "any value",
    "secret": "a secret (a string without whitespace)",
}
# What a redacted secret looks like in a dump.
REDACTED = "<redacted>"
# template-formula's Template Override and Files Switch, the same in every formula
# (libtofs.jinja reads these three keys): ``type: tofs``.
TOFS = {
    "type": "map",
    "keys": {
        "path_prefix": {"type": "str", "nonempty": True,
                        "doc": "Another tree to look for files in"},
        "files_switch": {"type": "list", "items": {"type": "str", "nonempty": True},
                         "doc": "Grains or pillar keys whose values name the directories "
                                "tried"},
        "source_files": {"type": "map", "values": {"type": "list", "items": {
            "type": "str", "nonempty": True}},
            "doc": "Per state id, file names tried before the default"},
    },
}


FIELDS = {"type", "doc", "keys", "values", "names", "names_doc", "items", "unique",
          "min_items", "pattern", "pattern_doc", "nonempty", "min", "max", "range_doc",
          "choices", "nullable", "required", "schemes", "algorithms", "urls", "any_of",
          "closed_prefix", "list_doc"}


def schema_errors(node, path):
    """What is wrong with a schema itself: unknown fields or types, a node not a mapping
    (YAML's flow style turns an unquoted comma in a doc into a stray field)."""
    if not isinstance(node, dict):
        return [f"{path}: a schema node must be a mapping, not {node!r}"]
    errors = [f"{path}: unknown schema field {field!r}" for field in node if field not in FIELDS]
    if node.get("type", "any") not in EXPECTED and node.get("type") != "tofs":
        errors.append(f"{path}: unknown type {node.get('type')!r}")
    for name, sub in (node.get("keys") or {}).items():
        errors += schema_errors(sub, f"{path}:{name}")
    for field in ("values", "items"):
        if node.get(field) is not None:
            errors += schema_errors(node[field], f"{path}:<{field}>")
    for index, option in enumerate(node.get("any_of") or []):
        errors += schema_errors(option, f"{path}:<any_of {index}>")
    return errors


def fail(path, message):
    """Raise the package's refusal: ``<key path>: <message>``."""
    raise CommandExecutionError(f"{path}: {message}" if path else message)


def kind(value):
    """What YAML made of a value, in the words the messages use."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "whole number"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


def _show(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _refuse(path, value, wanted):
    fail(path, f"{_show(value)} ({kind(value)}) is not {wanted}")


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_port(value):
    return is_int(value) and 1 <= value <= 65535


def is_address(value):
    """An IP address or a host name: no port, no scheme, no path."""
    if not isinstance(value, str) or not value:
        return False
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        pass
    # Dotted quads are addresses or nothing: 10.0.0.300 is not a host name either.
    if re.fullmatch(r"[\d.]+", value):
        return False
    return bool(_HOSTNAME.match(value))


def hash_setting(value, path, algorithms=("sha256", "sha512"), urls=True):
    """
    A download's checksum setting, checked for its form without fetching anything:
    ``<algo>=<hex>`` (an algorithm of ``algorithms``) comes back normalised, bare hex of
    such a length as ``<algo>=<hex>``, and with ``urls`` the URL of a checksum file
    (https, http, salt, file, or an absolute path as file://) as it is, fetched at apply
    time.  md5 and sha1 are refused by name.
    """
    names = " or ".join(f"{a}=" for a in algorithms)
    if value is None or value == "":
        fail(path, "missing; every download must be verified (a pinned "
             f"'{algorithms[-1]}=<hex>'" + (" or the URL of its checksum file)" if urls
                                           else ")"))
    if not isinstance(value, str):
        _refuse(path, value, f"a checksum ('{algorithms[-1]}=<hex>'"
                + (" or a checksum file's URL)" if urls else ")"))
    text = value.strip()
    algo, sep, digest = text.partition("=")
    if sep and "/" not in text:
        algo, digest = algo.strip().lower(), digest.strip().lower()
        if algo not in algorithms:
            fail(path, f"{algo!r} is not a checksum the formulas accept; give {names} "
                 "(md5 and sha1 no longer protect a download)")
        if len(digest) != HASH_ALGORITHMS[algo] or not _HEX.match(digest):
            fail(path, f"{algo} needs {HASH_ALGORITHMS[algo]} hex digits, got {digest!r}")
        return f"{algo}={digest}"
    for algo in algorithms:
        if _HEX.match(text.lower()) and len(text) == HASH_ALGORITHMS[algo]:
            return f"{algo}={text.lower()}"
    if urls:
        if text.startswith("/"):
            return "file://" + text
        scheme = text.partition("://")[0].lower() if "://" in text else ""
        if scheme in HASH_SCHEMES:
            return text
    fail(path, f"{text!r} is neither {names}<hex>" + (
        " nor the URL of a checksum file (https://, http://, salt://, file:// or an "
        "absolute path)" if urls else ""))


def _secret(value, node, path):
    # The value itself is never part of the message: it would land in logs and job caches.
    shortest = node.get("min", 1)
    if not isinstance(value, str):
        fail(path, f"a {kind(value)} is not a secret: give a quoted string of at least "
             f"{shortest} characters (the value is not shown)")
    if len(value) < shortest:
        fail(path, f"is {len(value)} characters long; a secret needs at least {shortest} "
             "(the value is not shown)")
    if re.search(r"\s", value):
        fail(path, "contains whitespace, which Storm's and ZooKeeper's digest payloads do "
             "not carry (the value is not shown)")


def redact(value, keys):
    """
    A copy of ``value`` with the value of every mapping key in ``keys`` (at any depth)
    replaced by ``REDACTED``: what a settings dump may show.  ``None`` stays ``None``, so
    the dump still says whether a secret was given.
    """
    if isinstance(value, dict):
        return {k: (REDACTED if k in keys and v is not None else redact(v, keys))
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(item, keys) for item in value]
    return value


def secret_keys(node):
    """The names of the keys a schema declares ``type: secret``, at any depth."""
    found = set()
    if not isinstance(node, dict):
        return found
    for name, sub in (node.get("keys") or {}).items():
        if (sub or {}).get("type") == "secret":
            found.add(name)
        found |= secret_keys(sub)
    for field in ("values", "items"):
        found |= secret_keys(node.get(field))
    for option in node.get("any_of") or []:
        found |= secret_keys(option)
    return found


def _scalar(value, node, path):
    kind_ = node.get("type", "any")
    wanted = EXPECTED.get(kind_, kind_)
    if kind_ == "secret":
        _secret(value, node, path)
        return
    if kind_ == "str":
        if not isinstance(value, str):
            _refuse(path, value, wanted)
        if node.get("nonempty") and not value.strip():
            fail(path, "is empty; " + (node.get("doc") or "a value is needed"))
        if node.get("pattern") and not re.fullmatch(node["pattern"], value):
            fail(path, f"{value!r} is not {node.get('pattern_doc') or node['pattern']}")
    elif kind_ in ("int", "number", "port"):
        ok = is_int(value) if kind_ in ("int", "port") else is_number(value)
        if not ok:
            _refuse(path, value, wanted)
        low = node.get("min", 1 if kind_ == "port" else None)
        high = node.get("max", 65535 if kind_ == "port" else None)
        if (low is not None and value < low) or (high is not None and value > high):
            span = (f"from {low} to {high}" if low is not None and high is not None
                    else f"{low} or more" if low is not None else f"{high} or less")
            what = node.get("range_doc") or ("a TCP port" if kind_ == "port" else "a number")
            fail(path, f"{value!r} is out of range: {what} {span}")
    elif kind_ == "bool":
        if not isinstance(value, bool):
            _refuse(path, value, wanted)
    elif kind_ == "path":
        if not isinstance(value, str) or not value.startswith("/"):
            _refuse(path, value, wanted)
    elif kind_ == "url":
        schemes = node.get("schemes") or ["https", "http", "salt", "file"]
        if not isinstance(value, str) or value.partition("://")[0].lower() not in schemes \
                or "://" not in value:
            _refuse(path, value, "a URL (" + ", ".join(f"{s}://" for s in schemes) + ")")
    elif kind_ == "address":
        if not is_address(value):
            _refuse(path, value, "an IP address or host name (no port, no scheme)")
    elif kind_ == "network":
        try:
            ipaddress.ip_network(value, strict=False)
        except (TypeError, ValueError):
            _refuse(path, value, wanted)
        if not isinstance(value, str):
            _refuse(path, value, wanted)
    elif kind_ == "hash":
        hash_setting(value, path, tuple(node.get("algorithms") or ("sha256", "sha512")),
                     node.get("urls", True))
    elif kind_ == "version":
        if not (isinstance(value, str) and value.strip()) and not is_int(value):
            _refuse(path, value, wanted + (" (YAML reads 1.10 as the number 1.1)"
                                           if isinstance(value, float) else ""))
    elif kind_ == "scalar":
        if not isinstance(value, (str, int, float)):
            _refuse(path, value, wanted)
    elif kind_ != "any":
        fail(path, f"the schema names an unknown type {kind_!r}")
    if "choices" in node and value not in node["choices"]:
        fail(path, f"{_show(value)} is not one of " + ", ".join(map(str, node["choices"])))


def check(value, node, path):
    """
    Refuse ``value`` when it does not match the schema ``node``, naming ``path`` (the full
    key path, ``storm:heap_mb:nimbus``).  Returns ``value`` unchanged.
    """
    node = node or {}
    if node.get("type") == "tofs":
        node = dict(TOFS, doc=node.get("doc"))
    if value is None:
        if node.get("nullable") or node.get("type") == "any":
            return value
        fail(path, f"is empty; expected {EXPECTED.get(node.get('type', 'any'), 'a value')}"
             + (f" ({node['doc']})" if node.get("doc") else ""))
    kind_ = node.get("type", "any")
    if "any_of" in node:
        # A mapping or a list is checked against the option of its shape, so a bad key
        # inside it is reported as such; a scalar against each scalar option.
        for shape, kind_name in ((dict, "map"), (list, "list")):
            if isinstance(value, shape):
                for option in node["any_of"]:
                    if option.get("type") == kind_name:
                        return check(value, option, path)
        for option in node["any_of"]:
            try:
                return check(value, option, path)
            except CommandExecutionError:
                continue
        _refuse(path, value, " or ".join(
            EXPECTED.get(o.get("type", "any"), "a value") for o in node["any_of"]))
    if kind_ == "map":
        return _map(value, node, path)
    if kind_ == "list":
        if not isinstance(value, list):
            _refuse(path, value, node.get("list_doc") or "a list")
        if len(value) < node.get("min_items", 0):
            fail(path, f"needs at least {node['min_items']} entries")
        for index, item in enumerate(value):
            check(item, node.get("items"), f"{path}:{index}")
        if node.get("unique"):
            seen = []
            for index, item in enumerate(value):
                if item in seen:
                    fail(f"{path}:{index}", f"{_show(item)} is listed twice")
                seen.append(item)
        return value
    _scalar(value, node, path)
    return value


def _map(value, node, path):
    keys = node.get("keys") or {}
    if not isinstance(value, dict):
        listed = f" (of {', '.join(keys)})" if keys else ""
        _refuse(path, value, f"a mapping{listed}")
    others = node.get("values")
    for name, item in value.items():
        where = f"{path}:{name}"
        if name in keys:
            check(item, keys[name], where)
            continue
        if others is None:
            close = difflib.get_close_matches(str(name), [str(k) for k in keys], n=1,
                                              cutoff=0.6)
            hint = f" (did you mean {close[0]}?)" if close else ""
            fail(where, f"is not a setting here{hint}; the settings of {path} are "
                 + ", ".join(keys))
        # In a map open by design, a near miss of a declared key is a typo, not a new key.
        close = difflib.get_close_matches(str(name), [str(k) for k in keys], n=1, cutoff=0.85)
        if close:
            fail(where, f"is not a setting here (did you mean {close[0]}?)")
        if not isinstance(name, str) or (node.get("names") and not re.fullmatch(
                node["names"], name)):
            fail(where, f"{name!r} is not {node.get('names_doc') or 'a valid name'}")
        if node.get("closed_prefix") and str(name).startswith(node["closed_prefix"]):
            fail(where, f"is not one of the {node['closed_prefix']}* settings: "
                 + ", ".join(k for k in keys if k.startswith(node["closed_prefix"])))
        check(item, others, where)
    # Required keys after the unknown ones: a misspelt required key is reported as the
    # typo it is, not as a missing key.
    for name, sub in keys.items():
        if sub and sub.get("required") and value.get(name) is None:
            fail(f"{path}:{name}", "missing" + (f"; {sub['doc']}" if sub.get("doc") else ""))
    return value


def distinct_ports(ports, where):
    """
    Refuse two listeners on one port: ``ports`` is ``[(key path, port), ...]`` for one
    host (the key path may say more in parentheses, e.g. which slot), ``where`` the host.
    """
    seen = {}
    for key, port in ports:
        if port in seen:
            fail(key, f"port {port} is also {seen[port]}; every port that listens on "
                 f"{where} must differ")
        seen[port] = key


def merge(layers, path):
    """
    The layers of a formula map (defaults, os_family, os, pillar ``lookup``, pillar) merged
    the way ``slsutil.merge`` with ``strategy=recurse`` does: mappings key by key, anything
    else replaced.  A layer that is not a mapping is refused naming it.
    """
    merged = {}
    for name, layer in layers:
        if layer is None:
            continue
        if not isinstance(layer, dict):
            _refuse(f"{path}:{name}" if name else path, layer, "a mapping of settings")
        merged = _recurse(merged, layer)
    return merged


def _recurse(dest, update):
    out = dict(dest)
    for key, value in update.items():
        if isinstance(out.get(key), dict) and isinstance(value, dict):
            out[key] = _recurse(out[key], value)
        else:
            out[key] = value
    return out


def describe(node):
    """A node's type in the words of the settings tables."""
    node = node or {}
    if "any_of" in node:
        return " or ".join(describe(o) for o in node["any_of"])
    kind_ = node.get("type", "any")
    text = {"map": "mapping", "list": "list", "str": "string", "int": "integer",
            "number": "number", "bool": "boolean", "port": "port", "path": "absolute path",
            "url": "URL", "address": "address", "network": "network (CIDR)",
            "hash": "checksum", "version": "version string", "scalar": "scalar",
            "any": "any", "tofs": "mapping (TOFS)", "secret": "secret"}.get(kind_, kind_)
    if kind_ == "list" and node.get("items"):
        text = f"list of {describe(node['items'])}"
    if kind_ == "map" and node.get("values") and not node.get("keys"):
        text = f"mapping of name to {describe(node['values'])}"
    if "choices" in node:
        text = " \\| ".join(f"`{c}`" for c in node["choices"])
    low, high = node.get("min"), node.get("max")
    if kind_ in ("int", "number", "port") and (low is not None or high is not None):
        text += f" {low if low is not None else ''}–{high if high is not None else ''}"
    if kind_ == "secret" and low:
        text += f" (at least {low} characters)"
    if node.get("nullable"):
        text += " or null"
    return text


def rows(node, path, defaults=None):
    """
    The settings table of a schema: ``(key path, type, default, meaning)`` for every key,
    depth first, maps with declared keys opened (their keys follow them).
    """
    out = []
    for name, sub in ((node or {}).get("keys") or {}).items():
        where = f"{path}:{name}"
        default = (defaults or {}).get(name) if isinstance(defaults, dict) else None
        has_keys = (sub or {}).get("type") == "map" and (sub or {}).get("keys")
        out.append((where, describe(sub), None if has_keys else default,
                    (sub or {}).get("doc", "")))
        if has_keys:
            out.extend(rows(sub, where, default))
    return out
