"""A tiny streamparse 5.0.1 project the tests submit: WordSpout -> UpperBolt -> SinkBolt.

The spout emits LIMIT words with message ids (reliable) and records which ids Storm acked
or failed; UpperBolt (shuffle, 2 tasks) upper-cases each word, anchored to its input;
SinkBolt (fields grouping on "word", 2 tasks) appends "<task> <WORD>" to a file and acks
every tuple except "FAIL-ME", which it fails; it also gets a tick tuple every second
(component config topology.tick.tuple.freq.secs) and notes it in ticks.txt.  So the
acking tree spans two bolts and, with two workers, crosses worker processes.
"""

import json
import textwrap
import zipfile

SPOUT = '''
import itertools

from streamparse import Spout


class WordSpout(Spout):
    outputs = ["word"]

    def initialize(self, stormconf, context):
        self.words = itertools.cycle(["apple", "banana", "fail-me", "cherry"])
        self.count = 0
        self.acks = open({acks!r}, "a", buffering=1)

    def next_tuple(self):
        if self.count < {limit}:
            self.count += 1
            word = next(self.words)
            self.emit([word], tup_id=f"{{word}}-{{self.count}}")

    def ack(self, tup_id):
        self.acks.write(f"ack {{tup_id}}\\n")

    def fail(self, tup_id):
        self.acks.write(f"fail {{tup_id}}\\n")
'''

UPPER = '''
from streamparse import Bolt


class UpperBolt(Bolt):
    outputs = ["word"]

    def process(self, tup):
        self.emit([tup.values[0].upper()])
'''

SINK = '''
from streamparse import Bolt


class SinkBolt(Bolt):
    auto_ack = False

    def initialize(self, conf, context):
        self.out = open({out!r}, "a", buffering=1)
        self.ticks = open({ticks!r}, "a", buffering=1)

    def process_tick(self, tup):
        self.ticks.write(f"{{self.task_id}} tick\\n")

    def process(self, tup):
        word = tup.values.word
        self.out.write(f"{{self.task_id}} {{word}}\\n")
        self.log(f"sink got {{word}}")
        if word == "FAIL-ME":
            self.fail(tup)
        else:
            self.ack(tup)
'''

TOPOLOGY = '''
from streamparse import Grouping, Topology

from bolts.sink import SinkBolt
from bolts.upper import UpperBolt
from spouts.words import WordSpout


class Tiny(Topology):
    config = {{"topology.message.timeout.secs": 20, "topology.subprocess.timeout.secs": 9}}
    word_spout = WordSpout.spec()
    upper_bolt = UpperBolt.spec(inputs=[word_spout], par=2)
    sink_bolt = SinkBolt.spec(inputs={{upper_bolt: Grouping.fields("word")}}, par=2,
                              config={{"topology.tick.tuple.freq.secs": 1}})
'''


def make_project(root, nimbus, venv, out_file, acks_file, limit=20):
    """Write the project under `root`; returns the jar (a zip of resources/)."""
    sources = {
        "src/spouts/__init__.py": "",
        "src/spouts/words.py": SPOUT.format(acks=str(acks_file), limit=limit),
        "src/bolts/__init__.py": "",
        "src/bolts/upper.py": UPPER,
        "src/bolts/sink.py": SINK.format(out=str(out_file),
                                         ticks=str(out_file.with_name("ticks.txt"))),
        "topologies/tiny.py": TOPOLOGY.format(),
    }
    for name, text in sources.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    config = {
        "serializer": "json",
        "topology_specs": "topologies/",
        "virtualenv_specs": "virtualenvs/",
        "envs": {"test": {
            "user": "", "nimbus": nimbus, "workers": [],
            "log": {"path": str(root / "logs"), "level": "info"},
            "use_ssh_for_nimbus": False, "use_virtualenv": True,
            "install_virtualenv": False,
            "virtualenv_root": str(venv.parent), "virtualenv_name": venv.name,
        }},
    }
    (root / "config.json").write_text(json.dumps(config, indent=2))
    (root / "logs").mkdir(exist_ok=True)
    jar = root / "tiny.jar"
    with zipfile.ZipFile(jar, "w") as archive:
        for name in sorted(sources):
            if name.startswith("src/"):
                archive.write(root / name, "resources/" + name[len("src/"):])
    return jar
