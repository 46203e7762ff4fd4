#!/usr/bin/env python3
"""List the configuration keys an Apache Storm release knows, read from its jars.

    python3 tools/storm_keys.py --lib build/storm/apache-storm-2.8.3/lib --version 2.8.3 \
        [--out storm/parameters/storm_keys/2.8.3.yaml]

Storm's keys are the String constants of org.apache.storm.Config (storm-client jar) and
org.apache.storm.DaemonConfig (storm-server jar).  This reads those two classes straight from
the jars and parses the Java class file format itself (constant pool, fields, attributes):

* every `public static final String` field with a ConstantValue attribute is a key;
* a `public static String` field that is not final has no ConstantValue: its value is set by
  the class initialiser (`ldc "key"; putstatic FIELD`), which is read from <clinit>'s code
  (Storm 2.8 declares 25 keys this way, the cgroup and OCI ones);
* the field's RuntimeVisibleAnnotations give its validators (the nested annotations of
  org.apache.storm.validation.ConfigValidationAnnotations, e.g. IsString, IsPositiveNumber)
  with the element values written at the field (an annotation's defaults are not repeated).

To those it adds every top-level key of the defaults.yaml inside the storm-client jar, and the
few keys Storm reads without a constant (READ_WITHOUT_CONSTANT below; each is kept only if a
class of the given jars still holds the string).  Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import struct
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

CONFIG_CLASSES = {
    "org/apache/storm/Config.class": "Config",
    "org/apache/storm/DaemonConfig.class": "DaemonConfig",
}
DEFAULTS = "defaults.yaml"
SOURCES = ("Config", "DaemonConfig", "defaults.yaml", "read-without-constant")
VALIDATION_PREFIX = "org/apache/storm/validation/ConfigValidationAnnotations$"

# Keys Storm reads from a configuration map by a string literal or by a constant of another
# class, with no constant in Config or DaemonConfig.  Each was checked in the 2.8.3 jars'
# bytecode (the literal is passed to Map.get) and in apache/storm's source; keys_from_jars
# keeps one only if a class of the given jars still holds the string.  key -> why.
# Looked at and left out (in 2.8.3's jars, not storm.yaml keys): storm.home, storm.conf.file,
# storm.options, storm.jar, storm.dependency.jars/artifacts, worker.memory_limit_mb (system
# properties); storm.fixed.group.mapping (FixedGroupsMapping: a key inside the
# storm.group.mapping.service.params map); storm.local.sleeptime, storm.local.zookeeper
# (LocalCluster options); client.users (DRPC ACL file entries).
READ_WITHOUT_CONSTANT = {
    "storm.log.dir": (
        "ConfigUtils.getLogDir() (storm-client) takes the storm.yaml value when the "
        "storm.log.dir system property is unset; bin/storm reads it through "
        "org.apache.storm.command.ConfigValue to pass -Dstorm.log.dir to the daemons"
    ),
    "topology.spout.max.batch.size": (
        "RichSpoutBatchExecutor.MAX_BATCH_SIZE_CONF (storm-client, Trident): the batch size "
        "of a rich spout run by Trident, read from the topology's configuration"
    ),
    "topology.tuple.serializer.blowfish.key": (
        "BlowfishTupleSerializer.SECRET_KEY (storm-client): the key of the Blowfish tuple "
        "serializer, read from the topology's configuration"
    ),
}

ACC_PUBLIC, ACC_STATIC, ACC_FINAL = 0x0001, 0x0008, 0x0010
STRING_DESCRIPTOR = "Ljava/lang/String;"


class ClassFormatError(ValueError):
    """The bytes are not a class file this parser understands."""


# --------------------------------------------------------------------------------------------
# Class file parsing (JVM specification, chapter 4)
# --------------------------------------------------------------------------------------------

def _modified_utf8(raw: bytes) -> str:
    """Decode the JVM's "modified UTF-8" (NUL as C0 80, supplementary chars as surrogates)."""
    text = raw.replace(b"\xc0\x80", b"\x00").decode("utf-8", "surrogatepass")
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")


class _Reader:
    def __init__(self, data: bytes, pos: int = 0):
        self.data, self.pos = data, pos

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ClassFormatError("truncated class file")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def u1(self) -> int:
        return self.take(1)[0]

    def u2(self) -> int:
        return struct.unpack(">H", self.take(2))[0]

    def u4(self) -> int:
        return struct.unpack(">I", self.take(4))[0]


# Constant pool tags and the byte size of their payload (Utf8 is variable).
_CP_FIXED = {3: 4, 4: 4, 5: 8, 6: 8, 7: 2, 8: 2, 9: 4, 10: 4, 11: 4, 12: 4, 15: 3, 16: 2,
             17: 4, 18: 4, 19: 2, 20: 2}
CP_UTF8, CP_INTEGER, CP_FLOAT, CP_LONG, CP_DOUBLE = 1, 3, 4, 5, 6
CP_CLASS, CP_STRING, CP_FIELDREF, CP_NAME_AND_TYPE = 7, 8, 9, 12


@dataclass
class Annotation:
    type: str                                   # binary name, e.g. java/lang/Deprecated
    elements: dict = field(default_factory=dict)  # element name -> python value

    @property
    def simple_name(self) -> str:
        return self.type.rsplit("/", 1)[-1].rsplit("$", 1)[-1]


@dataclass
class Member:
    access: int
    name: str
    descriptor: str
    attributes: dict                            # attribute name -> list of raw payloads


@dataclass
class StringField:
    name: str
    value: str
    final: bool
    annotations: list
    deprecated: bool


class ClassFile:
    """The parts of a class file this tool needs: constant pool, fields, methods."""

    def __init__(self, data: bytes):
        r = _Reader(data)
        if r.u4() != 0xCAFEBABE:
            raise ClassFormatError("not a class file (bad magic)")
        self.minor, self.major = r.u2(), r.u2()
        count = r.u2()
        self.cp: list = [None] * count            # index -> (tag, value)
        i = 1
        while i < count:
            tag = r.u1()
            if tag == CP_UTF8:
                self.cp[i] = (tag, _modified_utf8(r.take(r.u2())))
            elif tag == CP_INTEGER:
                self.cp[i] = (tag, struct.unpack(">i", r.take(4))[0])
            elif tag == CP_FLOAT:
                self.cp[i] = (tag, struct.unpack(">f", r.take(4))[0])
            elif tag == CP_LONG:
                self.cp[i] = (tag, struct.unpack(">q", r.take(8))[0])
            elif tag == CP_DOUBLE:
                self.cp[i] = (tag, struct.unpack(">d", r.take(8))[0])
            elif tag in (CP_CLASS, CP_STRING, 16, 19, 20):
                self.cp[i] = (tag, r.u2())
            elif tag in (CP_FIELDREF, 10, 11, CP_NAME_AND_TYPE, 17, 18):
                self.cp[i] = (tag, (r.u2(), r.u2()))
            elif tag in _CP_FIXED:
                self.cp[i] = (tag, r.take(_CP_FIXED[tag]))
            else:
                raise ClassFormatError(f"unknown constant pool tag {tag} at entry {i}")
            i += 2 if tag in (CP_LONG, CP_DOUBLE) else 1
        self.access = r.u2()
        self.this_class = self.class_name(r.u2())
        super_index = r.u2()
        self.super_class = self.class_name(super_index) if super_index else None
        self.interfaces = [self.class_name(r.u2()) for _ in range(r.u2())]
        self.fields = [self._member(r) for _ in range(r.u2())]
        self.methods = [self._member(r) for _ in range(r.u2())]

    # constant pool access
    def utf8(self, index: int) -> str:
        tag, value = self.cp[index]
        if tag != CP_UTF8:
            raise ClassFormatError(f"constant {index} is not Utf8")
        return value

    def class_name(self, index: int) -> str:
        tag, name_index = self.cp[index]
        if tag != CP_CLASS:
            raise ClassFormatError(f"constant {index} is not a Class")
        return self.utf8(name_index)

    def string_literals(self) -> set:
        """Every String constant (the literals the class's code and fields use)."""
        return {self.utf8(v) for e in self.cp if e and e[0] == CP_STRING for v in [e[1]]}

    def _member(self, r: _Reader) -> Member:
        access, name, descriptor = r.u2(), self.utf8(r.u2()), self.utf8(r.u2())
        attributes: dict = {}
        for _ in range(r.u2()):
            attr_name = self.utf8(r.u2())
            attributes.setdefault(attr_name, []).append(r.take(r.u4()))
        return Member(access, name, descriptor, attributes)

    # annotations
    def annotations(self, member: Member) -> list:
        out = []
        for raw in member.attributes.get("RuntimeVisibleAnnotations", []):
            r = _Reader(raw)
            out.extend(self._annotation(r) for _ in range(r.u2()))
        return out

    def _annotation(self, r: _Reader) -> Annotation:
        descriptor = self.utf8(r.u2())
        ann = Annotation(descriptor[1:-1] if descriptor.startswith("L") else descriptor)
        for _ in range(r.u2()):
            name = self.utf8(r.u2())
            ann.elements[name] = self._element_value(r)
        return ann

    def _element_value(self, r: _Reader):
        tag = chr(r.u1())
        if tag in "BCDFIJSZs":
            value = self.cp[r.u2()][1]
            if tag == "Z":
                return bool(value)
            if tag == "C":
                return chr(value)
            if tag == "s":
                return value if isinstance(value, str) else self.utf8(value)
            return value
        if tag == "e":
            type_name, const = self.utf8(r.u2()), self.utf8(r.u2())
            return f"{java_name(type_name)}.{const}"
        if tag == "c":
            return java_name(self.utf8(r.u2()))
        if tag == "@":
            nested = self._annotation(r)
            return {nested.simple_name: nested.elements}
        if tag == "[":
            return [self._element_value(r) for _ in range(r.u2())]
        raise ClassFormatError(f"unknown annotation element tag {tag!r}")

    # what this tool is for
    def string_constants(self) -> list:
        """The `public static final String` fields with a ConstantValue, in class-file order."""
        out = []
        want = ACC_PUBLIC | ACC_STATIC | ACC_FINAL
        for f in self.fields:
            if f.access & want != want or f.descriptor != STRING_DESCRIPTOR:
                continue
            values = f.attributes.get("ConstantValue")
            if not values:
                continue
            tag, index = self.cp[_Reader(values[0]).u2()]
            if tag != CP_STRING:
                raise ClassFormatError(f"field {f.name}: ConstantValue is not a String")
            out.append(self._string_field(f, self.utf8(index)))
        return out

    def static_string_assignments(self) -> list:
        """`public static String` fields (not final) set by `ldc "literal"; putstatic` in the
        class initialiser: the other way Storm declares a key."""
        fields = {f.name: f for f in self.fields
                  if f.access & (ACC_PUBLIC | ACC_STATIC) == ACC_PUBLIC | ACC_STATIC
                  and not f.access & ACC_FINAL and f.descriptor == STRING_DESCRIPTOR}
        clinit = next((m for m in self.methods if m.name == "<clinit>"), None)
        if not fields or clinit is None or "Code" not in clinit.attributes:
            return []
        found: dict = {}
        for literal, target in self._ldc_putstatic(clinit.attributes["Code"][0]):
            owner, name, descriptor = target
            if owner == self.this_class and name in fields and descriptor == STRING_DESCRIPTOR:
                found[name] = literal
        return [self._string_field(fields[n], found[n]) for n in fields if n in found]

    def _string_field(self, f: Member, value: str) -> StringField:
        anns = self.annotations(f)
        deprecated = "Deprecated" in f.attributes or any(
            a.type == "java/lang/Deprecated" for a in anns)
        return StringField(f.name, value, bool(f.access & ACC_FINAL), anns, deprecated)

    def _fieldref(self, index: int) -> tuple:
        tag, (class_index, nat_index) = self.cp[index]
        if tag != CP_FIELDREF:
            raise ClassFormatError(f"constant {index} is not a Fieldref")
        _, (name_index, type_index) = self.cp[nat_index]
        return self.class_name(class_index), self.utf8(name_index), self.utf8(type_index)

    def _ldc_putstatic(self, code_attr: bytes):
        """Yield (string literal, field) for each `ldc/ldc_w String` directly followed by
        `putstatic` in a Code attribute.  Walks the bytecode instruction by instruction."""
        r = _Reader(code_attr)
        r.take(4)                                  # max_stack, max_locals
        code = r.take(r.u4())
        pc, pending = 0, None
        while pc < len(code):
            op = code[pc]
            if op == 0x12:                         # ldc u1
                entry = self.cp[code[pc + 1]]
                pending = self.utf8(entry[1]) if entry[0] == CP_STRING else None
                pc += 2
                continue
            if op == 0x13:                         # ldc_w u2
                entry = self.cp[struct.unpack(">H", code[pc + 1:pc + 3])[0]]
                pending = self.utf8(entry[1]) if entry[0] == CP_STRING else None
                pc += 3
                continue
            if op == 0xB3 and pending is not None:  # putstatic u2
                yield pending, self._fieldref(struct.unpack(">H", code[pc + 1:pc + 3])[0])
            pending = None
            pc += _instruction_length(code, pc)


# Lengths of the JVM's fixed-size instructions (opcode byte included); others are 1 byte.
_OPERAND_BYTES = {0x10: 1, 0x11: 2, 0x12: 1, 0x13: 2, 0x14: 2, 0x84: 2, 0xB2: 2, 0xB3: 2,
                  0xB4: 2, 0xB5: 2, 0xB6: 2, 0xB7: 2, 0xB8: 2, 0xB9: 4, 0xBA: 4, 0xBB: 2,
                  0xBC: 1, 0xBD: 2, 0xC0: 2, 0xC1: 2, 0xC5: 3, 0xC6: 2, 0xC7: 2, 0xC8: 4,
                  0xC9: 4, 0xA7: 2, 0xA8: 2, 0xA9: 1}
_OPERAND_BYTES.update({op: 1 for op in range(0x15, 0x1A)})      # xload index
_OPERAND_BYTES.update({op: 1 for op in range(0x36, 0x3B)})      # xstore index
_OPERAND_BYTES.update({op: 2 for op in range(0x99, 0xA7)})      # if<cond> branch


def _instruction_length(code: bytes, pc: int) -> int:
    op = code[pc]
    if op == 0xC4:                                 # wide
        return 6 if code[pc + 1] == 0x84 else 4
    if op in (0xAA, 0xAB):                         # tableswitch, lookupswitch
        base = pc + 1 + (-(pc + 1) % 4)
        if op == 0xAA:
            low, high = struct.unpack(">ii", code[base + 4:base + 12])
            return base + 12 + 4 * (high - low + 1) - pc
        npairs = struct.unpack(">i", code[base + 4:base + 8])[0]
        return base + 8 + 8 * npairs - pc
    return 1 + _OPERAND_BYTES.get(op, 0)


def java_name(name: str) -> str:
    """A descriptor or binary name as Java source would write it, java.lang. dropped:
    Ljava/lang/String; -> String, [Ljava/lang/Object; -> Object[], org/x/A$B -> org.x.A$B."""
    dims = len(name) - len(name.lstrip("["))
    name = name[dims:]
    prim = {"B": "byte", "C": "char", "D": "double", "F": "float", "I": "int", "J": "long",
            "S": "short", "Z": "boolean", "V": "void"}
    if name in prim:
        name = prim[name]
    else:
        if name.startswith("L") and name.endswith(";"):
            name = name[1:-1]
        name = name.replace("/", ".")
        if name.startswith("java.lang.") and name.count(".") == 2:
            name = name[len("java.lang."):]
    return name + "[]" * dims


# --------------------------------------------------------------------------------------------
# Keys of a release
# --------------------------------------------------------------------------------------------

_TOP_KEY = re.compile(r"""^(?:"([^"]+)"|'([^']+)'|([^\s#:'"][^:#]*?))\s*:(?:\s|$)""")


def defaults_keys(text: str) -> list:
    """The top-level keys of Storm's defaults.yaml (a flat mapping written at column 0)."""
    keys = []
    for line in text.splitlines():
        if not line or line[0] in " \t#-" or line.startswith("..."):
            continue
        m = _TOP_KEY.match(line)
        if m:
            keys.append(next(g for g in m.groups() if g is not None))
    return keys


def _validators(annotations: list) -> list:
    out = []
    for a in annotations:
        if a.type == "java/lang/Deprecated":
            continue
        out.append({a.simple_name: a.elements} if a.elements else a.simple_name)
    return out


def _jar_members(paths) -> dict:
    """Open the jars; map each wanted member to the jar holding it."""
    found: dict = {}
    for p in paths:
        with zipfile.ZipFile(p) as z:
            names = set(z.namelist())
            for member in (*CONFIG_CLASSES, DEFAULTS):
                if member in names and member not in found:
                    found[member] = (Path(p), z.read(member))
    missing = [m for m in (*CONFIG_CLASSES, DEFAULTS) if m not in found]
    if missing:
        raise SystemExit(f"storm_keys: not in the given jars: {', '.join(missing)} "
                         f"(need the storm-client and storm-server jars)")
    return found


def _literals_in_jars(paths, wanted: set) -> set:
    """Which of `wanted` occur as String constants in some class of the jars."""
    seen: set = set()
    needles = [w.encode() for w in wanted]
    for p in paths:
        with zipfile.ZipFile(p) as z:
            for name in z.namelist():
                if not name.endswith(".class"):
                    continue
                data = z.read(name)
                if not any(n in data for n in needles):
                    continue
                seen |= ClassFile(data).string_literals() & wanted
    return seen


def keys_from_jars(paths) -> dict:
    """{key: {"from": [sources...], "validators": [...], ["deprecated": True]}} for the
    release whose storm-client and storm-server jars are `paths` (other jars are allowed)."""
    paths = [Path(p) for p in paths]
    members = _jar_members(paths)
    keys: dict = {}

    def add(key, source, **extra):
        entry = keys.setdefault(key, {"from": [], "validators": []})
        if source not in entry["from"]:
            entry["from"].append(source)
        for name, value in extra.items():
            if name == "validators":
                entry["validators"].extend(v for v in value if v not in entry["validators"])
            elif value:
                entry[name] = value

    for member, source in CONFIG_CLASSES.items():
        cls = ClassFile(members[member][1])
        for f in cls.string_constants() + cls.static_string_assignments():
            add(f.value, source, validators=_validators(f.annotations), deprecated=f.deprecated)
    for key in defaults_keys(members[DEFAULTS][1].decode("utf-8")):
        add(key, "defaults.yaml")
    for key in sorted(_literals_in_jars(paths, set(READ_WITHOUT_CONSTANT))):
        add(key, "read-without-constant")
    for entry in keys.values():
        entry["from"].sort(key=SOURCES.index)
    return dict(sorted(keys.items()))


# --------------------------------------------------------------------------------------------
# YAML output (flow mappings, one line per key; deterministic)
# --------------------------------------------------------------------------------------------

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-$/]*$")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def _scalar(value) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _RESERVED:
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _flow(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _scalar(value)


def render(version: str, keys: dict, jars) -> str:
    lines = [
        "# yamllint disable rule:line-length",
        f"# Configuration keys of Apache Storm {version}: generated by tools/storm_keys.py from",
        "# the release's jars; do not edit (regenerate instead).  Read from:",
    ]
    for jar in sorted(jars, key=lambda p: p.name):
        digest = hashlib.sha256(jar.read_bytes()).hexdigest()
        lines.append(f"#   {jar.name} sha256 {digest}")
    lines += [
        "# from: Config, DaemonConfig = a String constant of org.apache.storm.Config,",
        "#   org.apache.storm.DaemonConfig; defaults.yaml = a top-level key of the",
        "#   storm-client jar's defaults.yaml; read-without-constant = read by Storm with no",
        "#   Config/DaemonConfig constant (the tool's READ_WITHOUT_CONSTANT says where).",
        "# validators: the field's annotations (nested in",
        "#   org.apache.storm.validation.ConfigValidationAnnotations) with the element values",
        "#   written at the field; an annotation's defaults are not repeated; java.lang. dropped.",
        "# deprecated: the field is marked @Deprecated.",
        f"release: {version}",
        "keys:",
    ]
    for key, entry in keys.items():
        lines.append(f"  {_scalar(key)}: {_flow(entry)}")
    return "\n".join(lines) + "\n"


def storm_jars(lib: Path) -> list:
    """The Storm jars of a distribution's lib/ that can hold keys."""
    jars = sorted(p for p in Path(lib).glob("storm-*.jar")
                  if re.match(r"storm-(client|server|core)-", p.name))
    if not jars:
        raise SystemExit(f"storm_keys: no storm-client/storm-server jar in {lib}")
    return jars


def generate(lib: Path, version: str) -> str:
    jars = storm_jars(lib)
    for jar in jars:
        if not jar.name.endswith(f"-{version}.jar"):
            raise SystemExit(f"storm_keys: {jar.name} in {lib} is not release {version}")
    return render(version, keys_from_jars(jars), jars)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lib", required=True, type=Path,
                    help="directory with the storm-client and storm-server jars")
    ap.add_argument("--version", required=True, help="the Storm release, e.g. 2.8.3")
    ap.add_argument("--out", type=Path, help="write here (default: standard output)")
    args = ap.parse_args(argv)
    text = generate(args.lib, args.version)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        count = sum(1 for line in text.splitlines() if line.startswith("  "))
        print(f"storm_keys: {count} keys -> {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
