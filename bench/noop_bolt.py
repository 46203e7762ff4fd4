"""
The baseline of bench/classifier.py: a streamparse bolt that does nothing but ack.

Driven exactly like the classifier (``python -m streamparse.run -s json
noop_bolt.NoopBolt`` over pipes, with bench/ as its working directory), it measures what
the multilang protocol, pystorm and the benchmark's own driver cost per tuple.  Ticks are
acked too, as the classifier acks them.
"""

from streamparse import Bolt


class NoopBolt(Bolt):
    outputs = []
    auto_ack = False
    auto_anchor = False
    auto_fail = False

    def initialize(self, storm_conf, context):
        self.log("noop: ready")

    def process(self, tup):
        self.ack(tup)

    def process_tick(self, tup):
        self.ack(tup)
