"""A submitted StormTopology as the daemons see it: validation, task ids, executors,
groupings.  Nimbus and the workers derive task ids with the same function (components
sorted by id, tasks numbered from 1, as Storm's StormCommon.stormTaskInfo), so they agree.
"""

import json
import random
import zlib

ACKER = "__acker"
DEFAULT_STREAM = "default"
GROUPINGS = ("shuffle", "all", "none", "direct", "local_or_shuffle")


class InvalidTopology(Exception):
    pass


def grouping_kind(grouping):
    """('fields', [names]) | ('global',) | ('shuffle',) ... | ('custom',)."""
    if grouping.fields is not None:
        return ("fields", list(grouping.fields)) if grouping.fields else ("global",)
    for name in GROUPINGS:
        if getattr(grouping, name) is not None:
            return (name,)
    return ("custom",)


def partition(tasks, executors):
    """Storm's partitionFixed: contiguous groups, the first ones one larger."""
    if executors <= 0 or not tasks:
        return []
    size, extra = divmod(len(tasks), executors)
    groups, start = [], 0
    for i in range(min(executors, len(tasks))):
        end = start + size + (1 if i < extra else 0)
        groups.append((tasks[start], tasks[end - 1]))
        start = end
    return groups


class Component:
    def __init__(self, cid, kind, obj=None, common=None, parallelism=1):
        self.id, self.kind = cid, kind
        self.shell = None
        self.inputs, self.streams, self.conf = {}, {}, {}
        self.parallelism = parallelism
        if common is not None:
            self.shell = obj.shell
            self.inputs = {(g.componentId, g.streamId): grouping_kind(gr)
                           for g, gr in (common.inputs or {}).items()}
            self.streams = {s: list(info.output_fields) for s, info in
                            (common.streams or {}).items()}
            self.conf = json.loads(common.json_conf) if common.json_conf else {}
            hint = common.parallelism_hint
            self.parallelism = 1 if hint is None else hint
        self.tasks, self.executors = [], []


class TopologyInfo:
    def __init__(self, topology, topo_conf):
        self.conf = topo_conf
        comps = {}
        for cid, spec in (topology.spouts or {}).items():
            comps[cid] = Component(cid, "spout", spec.spout_object, spec.common)
        for cid, spec in (topology.bolts or {}).items():
            comps[cid] = Component(cid, "bolt", spec.bolt_object, spec.common)
        self.user_components = sorted(comps)
        ackers = topo_conf.get("topology.acker.executors")
        if ackers is None:
            ackers = topo_conf.get("topology.workers") or 1
        if ackers > 0:
            comps[ACKER] = Component(ACKER, "acker", parallelism=ackers)
        self.components = comps
        self.task_component = {}
        next_task = 1
        for cid in sorted(comps):
            comp = comps[cid]
            tasks = comp.conf.get("topology.tasks") or comp.parallelism
            cap = comp.conf.get("topology.max.task.parallelism",
                                topo_conf.get("topology.max.task.parallelism"))
            if cap:
                tasks = min(tasks, cap)
            comp.tasks = list(range(next_task, next_task + tasks))
            next_task += tasks
            comp.executors = partition(comp.tasks, min(comp.parallelism, tasks))
            for task in comp.tasks:
                self.task_component[task] = cid
        self.ackers = comps[ACKER].tasks if ACKER in comps else []
        self.subscribers = {}
        for cid, comp in comps.items():
            for (src, stream), grouping in comp.inputs.items():
                self.subscribers.setdefault((src, stream), []).append((cid, grouping))

    def executors(self):
        """[(start, end, component)] of every executor."""
        return [(s, e, cid) for cid, c in sorted(self.components.items())
                for s, e in c.executors]

    def output_fields(self, cid, stream):
        return self.components[cid].streams.get(stream, [])

    def acker_for(self, root):
        return self.ackers[root % len(self.ackers)]

    def targets(self, src, stream, values, local_tasks=(), direct_task=None):
        """The task ids a tuple emitted by `src` on `stream` goes to."""
        if direct_task is not None:
            return [direct_task] if direct_task in self.task_component else []
        out = []
        for cid, grouping in self.subscribers.get((src, stream), []):
            tasks = self.components[cid].tasks
            kind = grouping[0]
            if not tasks or kind == "direct":
                continue
            if kind in ("shuffle", "none"):
                out.append(random.choice(tasks))
            elif kind == "local_or_shuffle":
                local = [t for t in tasks if t in local_tasks]
                out.append(random.choice(local or tasks))
            elif kind == "fields":
                fields = self.output_fields(src, stream)
                key = json.dumps([values[fields.index(f)] for f in grouping[1]],
                                 sort_keys=True, default=str)
                out.append(tasks[zlib.crc32(key.encode()) % len(tasks)])
            elif kind == "global":
                out.append(min(tasks))
            elif kind == "all":
                out.extend(tasks)
        return out

    def context(self, task):
        """The multilang handshake's context for one task (TopologyContext's fields)."""
        cid = self.task_component[task]
        comp = self.components[cid]
        source_fields, source_grouping = {}, {}
        for (src, stream), grouping in comp.inputs.items():
            source_fields.setdefault(src, {})[stream] = self.output_fields(src, stream)
            source_grouping.setdefault(src, {})[stream] = _grouping_json(grouping)
        targets = {}
        for stream in comp.streams:
            for target, grouping in self.subscribers.get((cid, stream), []):
                targets.setdefault(stream, {})[target] = _grouping_json(grouping)
        return {
            "taskid": task,
            "componentid": cid,
            "task->component": {str(t): c for t, c in sorted(self.task_component.items())},
            "streams": sorted(comp.streams),
            "stream->outputfields": comp.streams,
            "source->stream->fields": source_fields,
            "source->stream->grouping": source_grouping,
            "stream->target->grouping": targets,
        }


def _grouping_json(grouping):
    return {grouping[0].upper(): grouping[1]} if len(grouping) > 1 else grouping[0].upper()


def check_name(name):
    """Storm 2's rule for topology names: not blank, none of / . : \\ in it."""
    if not name or not name.strip() or any(c in name for c in "/.:\\"):
        raise InvalidTopology(f"Topology name '{name}' is not valid: it must not be blank "
                              "or contain any of / . : \\")


def validate(name, topology, topo_conf):
    """Raise InvalidTopology with Storm-like messages for what the stand-in cannot run."""
    check_name(name)
    if topology.state_spouts:
        raise InvalidTopology("state spouts are not supported")
    spouts, bolts = set(topology.spouts or {}), set(topology.bolts or {})
    if spouts & bolts:
        raise InvalidTopology(f"Duplicate component ids: {sorted(spouts & bolts)}")
    if not spouts:
        raise InvalidTopology("the topology has no spout")
    specs = {**(topology.spouts or {}), **(topology.bolts or {})}
    for cid, spec in sorted(specs.items()):
        if cid.startswith("__"):
            raise InvalidTopology(f"Component id '{cid}' is reserved (starts with __)")
        obj = getattr(spec, "spout_object", None) or spec.bolt_object
        if obj.shell is None or not obj.shell.execution_command:
            raise InvalidTopology(
                f"Component '{cid}' is a JVM component: the Storm stand-in runs only shell "
                "components (ShellSpout/ShellBolt over multilang), it has no JVM")
        if spec.common.parallelism_hint is not None and spec.common.parallelism_hint < 1:
            raise InvalidTopology(f"Component '{cid}': parallelism hint must be > 0")
    info = TopologyInfo(topology, topo_conf)
    for cid in info.user_components:
        for (src, stream), grouping in info.components[cid].inputs.items():
            if src not in info.user_components:
                raise InvalidTopology(f"Component '{cid}' subscribes to unknown component "
                                      f"'{src}'")
            if stream not in info.components[src].streams:
                raise InvalidTopology(f"Component '{cid}' subscribes to undeclared stream "
                                      f"'{stream}' of '{src}'")
            if grouping[0] == "custom":
                raise InvalidTopology(f"Component '{cid}': custom groupings need a JVM; "
                                      "not supported by the stand-in")
            missing = [f for f in (grouping[1] if grouping[0] == "fields" else [])
                       if f not in info.output_fields(src, stream)]
            if missing:
                raise InvalidTopology(f"Component '{cid}' groups by fields {missing} that "
                                      f"stream '{stream}' of '{src}' does not declare")
    return info
