"""Assigning a topology's executors to worker slots (Storm's EvenScheduler, simplified).

Slots are the (supervisor id, port) pairs registered supervisors offer and no other
topology uses; they are taken round-robin across supervisors so workers spread over hosts,
and executors are dealt round-robin over the chosen slots.
"""


def free_slots(supervisors, assignments, except_topology=None):
    """Slots of live supervisors not used by another topology, interleaved by supervisor."""
    used = set()
    for tid, assignment in assignments.items():
        if tid == except_topology or assignment is None:
            continue
        for node in (assignment.executor_node_port or {}).values():
            used.update((node.node, port) for port in node.port)
    per_node = [[(sid, port) for port in sorted(info.meta or []) if (sid, port) not in used]
                for sid, info in sorted(supervisors.items())]
    slots = []
    for i in range(max((len(p) for p in per_node), default=0)):
        slots.extend(p[i] for p in per_node if i < len(p))
    return slots


def slots_of(assignment):
    return {(n.node, port) for n in (assignment.executor_node_port or {}).values()
            for port in n.port}


def is_valid(assignment, executors, supervisors):
    """Every executor placed, on a slot a live supervisor still offers."""
    placed = assignment.executor_node_port or {}
    if {tuple(k) for k in placed} != set(executors):
        return False
    return all(sid in supervisors and port in (supervisors[sid].meta or [])
               for sid, port in slots_of(assignment))


def schedule(executors, num_workers, slots):
    """{executor: (supervisor id, port)} over min(num_workers, len(slots)) slots."""
    chosen = slots[:max(1, min(num_workers, len(slots)))] if slots else []
    if not chosen:
        return {}
    return {ex: chosen[i % len(chosen)] for i, ex in enumerate(sorted(executors))}
