"""Storm's acker algorithm: a tuple tree is complete when the XOR of its edge ids is 0.

A spout tuple with a message id gets a random 64-bit root id; every tuple sent gets a
random edge id.  The acker for a root (task acker_tasks[root % n]) starts from the XOR of
the spout's edges; each bolt ack XORs in the acked tuple's edge and the edges of the
tuples it emitted anchored to it.  When the value returns to 0 every tuple of the tree
was acked and the spout task is told; a fail, or no completion within
topology.message.timeout.secs, fails the spout's message.
"""

import random
import time


def new_id():
    """A random non-zero 64-bit id (Storm uses random longs; zero would hide an edge)."""
    return random.getrandbits(64) or 1


class Acker:
    """The ledger of one __acker task; handle() returns (spout task, message) pairs."""

    def __init__(self, timeout_secs):
        self.timeout = timeout_secs
        self.pending = {}  # root -> [value, spout task or None, started]

    def handle(self, message):
        kind, root = message["t"], message["root"]
        entry = self.pending.setdefault(root, [0, None, time.time()])
        if kind == "acker_init":
            entry[1] = message["spout"]
        if kind in ("acker_init", "acker_ack") and entry[0] is not None:
            entry[0] ^= message["val"]
        elif kind == "acker_fail":
            entry[0] = None  # failed: tell the spout as soon as it is known
        if entry[1] is None:
            return []  # an ack overtook the spout's init; wait for it
        if entry[0] is None:
            del self.pending[root]
            return [(entry[1], {"t": "failed", "root": root})]
        if entry[0] == 0:
            del self.pending[root]
            return [(entry[1], {"t": "complete", "root": root})]
        return []

    def expire(self, now=None):
        """Forget trees older than the message timeout (their spouts time them out)."""
        if self.timeout is None:
            return
        limit = (now or time.time()) - self.timeout
        for root in [r for r, e in self.pending.items() if e[2] < limit]:
            del self.pending[root]


class SpoutPending:
    """Message ids a spout task emitted and has not yet seen acked or failed."""

    def __init__(self, timeout_secs):
        self.timeout = timeout_secs
        self.pending = {}  # root -> (message id, started)

    def __len__(self):
        return len(self.pending)

    def add(self, root, msg_id):
        self.pending[root] = (msg_id, time.time())

    def pop(self, root):
        entry = self.pending.pop(root, None)
        return None if entry is None else entry[0]

    def expired(self, now=None):
        """Pop and return the message ids past topology.message.timeout.secs."""
        if self.timeout is None:
            return []
        limit = (now or time.time()) - self.timeout
        roots = [r for r, (_, started) in self.pending.items() if started < limit]
        return [self.pending.pop(r)[0] for r in roots]


def anchor_edges(anchor_tuples, targets_count):
    """Edges for a bolt's emit anchored to input tuples, one output tuple per target.

    anchor_tuples: the pending input entries [anchors [(root, edge)...], ack_val].  Each
    (output tuple, anchor) pair gets a fresh edge XORed into the anchor's ack value and
    into the output tuple's edge for each of the anchor's roots.  Returns one
    [(root, edge)...] list per output tuple.
    """
    outputs = []
    for _ in range(targets_count):
        out = {}
        for anchor in anchor_tuples:
            edge = new_id()
            anchor[1] ^= edge
            for root, _ in anchor[0]:
                out[root] = out.get(root, 0) ^ edge
        outputs.append(sorted(out.items()))
    return outputs
