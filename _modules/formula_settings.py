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
