"""tools/storm_keys.py: the class-file parser on classes compiled here, and the shipped key
lists against the keys read again from the jars of the built Storm distribution."""

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from modloader import load_tool

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "storm" / "parameters" / "storm_keys"


storm_keys = load_tool("storm_keys")
storm_dist = load_tool("storm_dist")


# --------------------------------------------------------------------------------------------
# The parser, on tiny classes compiled with javac
# --------------------------------------------------------------------------------------------

KEYS_JAVA = r"""
package demo;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

public class Keys {
    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.FIELD)
    public @interface Check {
        String value() default "";
        int min() default 0;
        boolean zero() default false;
        Class<?> type() default Object.class;
        String[] allowed() default {};
    }

    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.FIELD)
    public @interface Marker {}

    @Retention(RetentionPolicy.CLASS)
    @Target(ElementType.FIELD)
    public @interface Invisible {}

    public static final String PLAIN = "demo.plain";
    @Check(value = "x", min = 3, zero = true, type = java.util.Map.class, allowed = {"p", "q"})
    @Marker
    @Deprecated
    public static final String ANNOTATED = "demo.annotated";
    @Invisible
    public static final String INVISIBLE = "demo.invisible";
    public static final String UNICODE = "demo.\u00e9\u0000\uD83D\uDE00";
    static final String PACKAGE_PRIVATE = "demo.package";
    private static final String PRIVATE = "demo.private";
    public final String instance = "demo.instance";
    public static final int INT = 42;
    public static final long LONG = 1L << 40;
    public static final double DOUBLE = 2.5;
    public static final String COMPUTED = String.valueOf(System.nanoTime());

    @Marker
    public static String NONFINAL = "demo.nonfinal";
    public static String FROM_CALL = System.getProperty("demo.property");
    public static String AFTER_SWITCHES;
    public static int COUNTER;

    static {
        int n = (int) (System.nanoTime() % 7);
        switch (n) {
            case 0: COUNTER = 1; break;
            case 1: COUNTER = 2; break;
            case 2: COUNTER = 3; break;
            default: COUNTER = 4;
        }
        switch (n * 1000) {
            case 0: COUNTER += 10; break;
            case 5000: COUNTER += 20; break;
            default: COUNTER += 30;
        }
        AFTER_SWITCHES = "demo.after.switches";
    }
}
"""


def _javac(tmp_path, sources):
    javac = shutil.which("javac")
    if not javac:
        pytest.skip("javac is not installed")
    src = tmp_path / "src"
    for rel, text in sources.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)
    out = tmp_path / "classes"
    subprocess.run([javac, "-d", str(out), *[str(src / rel) for rel in sources]], check=True)
    return out


@pytest.fixture(scope="module")
def keys_class(tmp_path_factory):
    out = _javac(tmp_path_factory.mktemp("javac"), {"demo/Keys.java": KEYS_JAVA})
    return out / "demo" / "Keys.class"


def _javap_string_constants(path):
    """An independent reading: javap's view of the public static final String constants."""
    text = subprocess.run(["javap", "-constants", "-public", str(path)], check=True,
                          capture_output=True, text=True).stdout
    return set(re.findall(r"public static final java\.lang\.String (\w+) = ", text))


def test_parser_returns_exactly_the_public_static_final_strings(keys_class):
    cls = storm_keys.ClassFile(keys_class.read_bytes())
    constants = {f.name: f.value for f in cls.string_constants()}
    assert constants == {
        "PLAIN": "demo.plain",
        "ANNOTATED": "demo.annotated",
        "INVISIBLE": "demo.invisible",
        "UNICODE": "demo.\u00e9\u0000\U0001F600",
    }
    # COMPUTED is public static final too, but has no ConstantValue: javap shows no value.
    assert set(constants) == _javap_string_constants(keys_class)
    assert all(f.final for f in cls.string_constants())


def test_parser_reads_runtime_visible_annotations_and_elements(keys_class):
    by_name = {f.name: f for f in storm_keys.ClassFile(keys_class.read_bytes()).string_constants()}
    annotated = by_name["ANNOTATED"]
    assert [a.simple_name for a in annotated.annotations] == ["Check", "Marker", "Deprecated"]
    assert annotated.annotations[0].type == "demo/Keys$Check"
    assert annotated.annotations[0].elements == {
        "value": "x", "min": 3, "zero": True, "type": "java.util.Map", "allowed": ["p", "q"]}
    assert annotated.deprecated
    # CLASS retention is not runtime-visible; a plain constant has none.
    assert by_name["INVISIBLE"].annotations == [] and not by_name["INVISIBLE"].deprecated
    assert by_name["PLAIN"].annotations == []


def test_parser_finds_non_final_strings_set_by_the_class_initialiser(keys_class):
    cls = storm_keys.ClassFile(keys_class.read_bytes())
    assigned = {f.name: f.value for f in cls.static_string_assignments()}
    # FROM_CALL is set from a method call, not a literal; the last one follows two switches.
    assert assigned == {"NONFINAL": "demo.nonfinal", "AFTER_SWITCHES": "demo.after.switches"}
    nonfinal = next(f for f in cls.static_string_assignments() if f.name == "NONFINAL")
    assert not nonfinal.final and [a.simple_name for a in nonfinal.annotations] == ["Marker"]


def test_parser_refuses_what_is_not_a_class_file(keys_class):
    with pytest.raises(storm_keys.ClassFormatError, match="magic"):
        storm_keys.ClassFile(b"PK\x03\x04" + bytes(20))
    with pytest.raises(storm_keys.ClassFormatError, match="truncated"):
        storm_keys.ClassFile(keys_class.read_bytes()[:200])


STORM_SOURCES = {
    "org/apache/storm/validation/ConfigValidationAnnotations.java": """
package org.apache.storm.validation;
import java.lang.annotation.*;
public class ConfigValidationAnnotations {
    @Retention(RetentionPolicy.RUNTIME) @Target(ElementType.FIELD)
    public @interface IsString { String[] acceptedValues() default {""}; }
    @Retention(RetentionPolicy.RUNTIME) @Target(ElementType.FIELD)
    public @interface IsPositiveNumber { boolean includeZero() default false; }
    @Retention(RetentionPolicy.RUNTIME) @Target(ElementType.FIELD)
    public @interface IsMapEntryType { Class<?> keyType(); Class<?> valueType(); }
}
""",
    "org/apache/storm/Config.java": """
package org.apache.storm;
import org.apache.storm.validation.ConfigValidationAnnotations.*;
public class Config {
    @IsString(acceptedValues = {"a", "b"})
    public static final String MODE = "demo.mode";
    @IsPositiveNumber(includeZero = true)
    public static final String COUNT = "demo.count";
    @Deprecated
    public static final String OLD = "demo.old";
    @IsString
    public static String LATE;
    static { LATE = "demo.late"; }
}
""",
    "org/apache/storm/DaemonConfig.java": """
package org.apache.storm;
import org.apache.storm.validation.ConfigValidationAnnotations.*;
public class DaemonConfig {
    @IsMapEntryType(keyType = String.class, valueType = Number.class)
    public static final String LIMITS = "demo.limits";
    @IsString
    public static final String MODE = "demo.mode";
}
""",
    "org/apache/storm/utils/Reader.java": """
package org.apache.storm.utils;
public class Reader {
    public static Object logDir(java.util.Map<String, Object> conf) {
        return conf.get("storm.log.dir");
    }
}
""",
}


def test_keys_from_jars_merges_classes_defaults_and_literals(tmp_path):
    classes = _javac(tmp_path, STORM_SOURCES)
    client, server = tmp_path / "storm-client-0.jar", tmp_path / "storm-server-0.jar"
    with zipfile.ZipFile(client, "w") as z:
        for rel in ("org/apache/storm/Config.class", "org/apache/storm/utils/Reader.class"):
            z.write(classes / rel, rel)
        z.writestr("defaults.yaml", "# comment\ndemo.count: 1\n\"demo.quoted\": x\n"
                                    "demo.map:\n  nested.key: 2\n  - item\ndemo.only: null\n")
    with zipfile.ZipFile(server, "w") as z:
        rel = "org/apache/storm/DaemonConfig.class"
        z.write(classes / rel, rel)
    keys = storm_keys.keys_from_jars([server, client])
    assert keys == {
        "demo.count": {"from": ["Config", "defaults.yaml"],
                       "validators": [{"IsPositiveNumber": {"includeZero": True}}]},
        "demo.late": {"from": ["Config"], "validators": ["IsString"]},
        "demo.limits": {"from": ["DaemonConfig"],
                        "validators": [{"IsMapEntryType": {"keyType": "String",
                                                           "valueType": "Number"}}]},
        "demo.map": {"from": ["defaults.yaml"], "validators": []},
        "demo.mode": {"from": ["Config", "DaemonConfig"],
                      "validators": [{"IsString": {"acceptedValues": ["a", "b"]}}, "IsString"]},
        "demo.old": {"from": ["Config"], "validators": [], "deprecated": True},
        "demo.only": {"from": ["defaults.yaml"], "validators": []},
        "demo.quoted": {"from": ["defaults.yaml"], "validators": []},
        # Listed in READ_WITHOUT_CONSTANT and present in a class; the others are not here.
        "storm.log.dir": {"from": ["read-without-constant"], "validators": []},
    }
    assert list(keys) == sorted(keys)
    with pytest.raises(SystemExit, match="DaemonConfig.class"):
        storm_keys.keys_from_jars([client])


# --------------------------------------------------------------------------------------------
# The shipped key lists against the real jars
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def storm_dist_build():
    """Build (cached: downloads only on a cold machine) the distribution of a release."""
    built = {}

    def get(version):
        if version not in built:
            try:
                built[version] = storm_dist.build(version, REPO / "build" / "storm")
            except SystemExit as exc:
                pytest.fail(f"could not build the Storm {version} distribution: {exc}")
        return built[version]
    return get


SHIPPED_FILES = sorted(SHIPPED.glob("*.yaml"))


def test_a_key_list_is_shipped():
    assert SHIPPED_FILES, f"no key list in {SHIPPED}"


def _entries(text):
    return {m.group(1): m.group(2) for m in re.finditer(r"^  (\S+): (.*)$", text, re.M)}


@pytest.mark.parametrize("shipped", SHIPPED_FILES, ids=lambda p: p.stem)
def test_shipped_key_list_equals_the_jars(shipped, storm_dist_build):
    version = shipped.stem
    lib = storm_dist_build(version)["lib"]
    regenerated = storm_keys.generate(lib, version)
    text = shipped.read_text()
    if regenerated != text:
        old, new = _entries(text), _entries(regenerated)
        added = sorted(set(new) - set(old))
        removed = sorted(set(old) - set(new))
        changed = sorted(k for k in set(old) & set(new) if old[k] != new[k])
        pytest.fail(
            f"{shipped.relative_to(REPO)} differs from the keys in Storm {version}'s jars "
            f"(regenerate: python3 tools/storm_keys.py --lib {lib} --version {version} "
            f"--out {shipped.relative_to(REPO)}):\n"
            f"  added:   {added}\n  removed: {removed}\n  changed: {changed}\n"
            f"  other lines differ: {not (added or removed or changed)}")


def test_cli_writes_what_generate_returns(tmp_path, storm_dist_build):
    version = SHIPPED_FILES[0].stem
    lib = storm_dist_build(version)["lib"]
    out = tmp_path / "keys.yaml"
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "storm_keys.py"), "--lib",
                           str(lib), "--version", version, "--out", str(out)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == storm_keys.generate(lib, version)
    wrong = subprocess.run([sys.executable, str(REPO / "tools" / "storm_keys.py"), "--lib",
                            str(lib), "--version", "0.0.0"], capture_output=True, text=True,
                           check=False)
    assert wrong.returncode != 0 and "not release 0.0.0" in wrong.stderr
