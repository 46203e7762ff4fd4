"""
The settings of a formula, merged and checked against its schema: what every formula's
``map.jinja`` calls before its own module completes the map.

The merge is template-formula's (parameters/defaults.yaml, os_family/<family>.yaml,
os/<os>.yaml, pillar ``<formula>:lookup``, pillar ``<formula>``; mappings key by key), and
the result is checked against ``<formula>/parameters/schema.yaml`` by the package's one
checker (``_utils/formula_schema.py``).  Bad input of any shape stops the render with a
message naming the key path, the value and what was expected, before any state runs.
"""

__virtualname__ = "formula_settings"


def __virtual__():
    return __virtualname__


def mapdata(formula, schema, defaults=None, os_family=None, os=None, pillar=None):
    """
    The merged, checked settings of ``formula``.  ``defaults``, ``os_family`` and ``os``
    are the parameter files as imported (their ``values``), ``pillar`` the formula's
    pillar key, ``schema`` its parameters/schema.yaml.

    CLI Example:

    .. code-block:: bash

        salt zk1 state.apply zookeeper._mapdata
    """
    schema_utils = __utils__
    pillar = {} if pillar is None else pillar
    if not isinstance(pillar, dict):
        schema_utils["formula_schema.fail"](
            formula, f"{pillar!r} ({schema_utils['formula_schema.kind'](pillar)}) is not a "
            "mapping of the formula's settings")
    layers = [(f"parameters/{name}", (doc or {}).get("values") if isinstance(doc, dict)
               else doc) for name, doc in (("defaults.yaml", defaults),
                                           ("os_family", os_family), ("os", os))]
    settings = schema_utils["formula_schema.merge"](
        layers + [("lookup", pillar.get("lookup")),
                  ("", {k: v for k, v in pillar.items() if k != "lookup"})], formula)
    schema_utils["formula_schema.check"](settings, schema, formula)
    return settings


def check(value, schema, path):
    """
    Check ``value`` against a schema node, naming ``path`` on refusal; returns the value.

    CLI Example:

    .. code-block:: bash

        salt-call formula_settings.check 2181 '{type: port}' zookeeper:ports:client
    """
    return __utils__["formula_schema.check"](value, schema, path)


def redacted(data, schema, keys=()):
    """
    ``data`` (a formula's map) as a dump may show it: the value of every key the schema
    declares ``type: secret``, of every key in ``keys``, and of every dotted key ending in
    ``.password`` or ``.payload`` (Storm's and ZooKeeper's secrets) replaced by
    ``<redacted>``.

    CLI Example:

    .. code-block:: bash

        salt nimbus1 state.apply storm._mapdata
    """
    schema_utils = __utils__
    names = set(schema_utils["formula_schema.secret_keys"](schema)) | set(keys)

    def dotted(value):
        if isinstance(value, dict):
            names.update(k for k in value if isinstance(k, str) and "." in k
                         and k.endswith((".password", ".payload")))
            for item in value.values():
                dotted(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                dotted(item)

    dotted(data)
    return schema_utils["formula_schema.redact"](data, names)
