"""
Test equipment: a ZooKeeper binary archive in Apache's layout, assembled from the same
jars Debian's `zookeeper` package installs on this machine.

Apache's download site is out of reach here, yet the zookeeper formula's archive install
(download, verify the checksum, unpack into a versioned directory, switch `current`) must be
tested for real.  This builds `apache-zookeeper-<version>-bin.tar.gz` with `lib/` holding
zookeeper.jar, everything its manifest's Class-Path names, and a logging binding, plus the
`.sha512` file written the way Apache wrote them before mid-2024 (`gpg --print-md`), so
the formula's parser of the harder format is exercised end to end, and a detached `.asc`
signature with a `KEYS` file, made with a throw-away test key (kept under
`<out>/.gnupg-standin`, its fingerprint in `KEYS.fingerprint` for the lab pillar to pin),
so the formula's signature check runs against gpgv for real.  The version is the
Debian jars' own (3.8.0); nothing here pretends to be an Apache release beyond the layout,
and STANDIN.txt in the archive says so.

    python test/standins/build_zookeeper.py [--out build/standins]
"""

import argparse
import gzip
import hashlib
import io
import pathlib
import subprocess
import tarfile
import zipfile

JAVA = pathlib.Path("/usr/share/java")
VERSION = "3.8.0"
MTIME = 1700000000  # fixed, so the same jars give the same archive and checksum
STANDIN = """This is NOT an Apache ZooKeeper release.
It is test equipment of the storm-sklearn Salt formulas: Apache's layout
(bin/, conf/, lib/) filled with the jars of Debian's zookeeper package, built by
test/standins/build_zookeeper.py so the formula's archive install can be tested where
Apache's downloads cannot be reached.
"""


def manifest_classpath(jar):
    with zipfile.ZipFile(jar) as archive:
        text = archive.read("META-INF/MANIFEST.MF").decode()
    # Manifest lines wrap at 72 bytes with a leading space on continuation lines.
    unwrapped = text.replace("\r\n", "\n").replace("\n ", "")
    for line in unwrapped.splitlines():
        if line.startswith("Class-Path:"):
            return line.split(":", 1)[1].split()
    return []


def jars():
    main = JAVA / "zookeeper.jar"
    if not main.exists():
        raise SystemExit("build_zookeeper: Debian's zookeeper package is not installed "
                         "(apt-get install --no-install-recommends zookeeper)")
    wanted = [main, JAVA / "slf4j-simple.jar"]
    wanted += [pathlib.Path(p) for p in manifest_classpath(main)]
    found = {}
    for path in wanted:
        real = path.resolve()
        if not real.exists():
            # The manifest also names client-only jars (jline for zkCli) that Debian only
            # recommends; the package's hard dependencies are what the server needs.
            print(f"build_zookeeper: skipping {path}, not installed (not needed by the server)")
            continue
        found[real.name] = real
    return found


def add_bytes(tar, name, data, mode=0o644):
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), MTIME, mode
    info.uname = info.gname = "root"
    tar.addfile(info, io.BytesIO(data))


def gpg_print_md(name, digest):
    groups = [digest[i:i + 8].upper() for i in range(0, len(digest), 8)]
    rows = [" ".join(groups[i:i + 8]) for i in range(0, len(groups), 8)]
    return f"{name}: " + ("\n" + " " * (len(name) + 2)).join(rows) + "\n"


def build(out):
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    top = f"apache-zookeeper-{VERSION}-bin"
    target = out / f"{top}.tar.gz"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        add_bytes(tar, f"{top}/STANDIN.txt", STANDIN.encode())
        add_bytes(tar, f"{top}/conf/zoo_sample.cfg",
                  b"tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir=/tmp/zookeeper\n"
                  b"clientPort=2181\n")
        for script in sorted(pathlib.Path("/usr/share/zookeeper/bin").glob("*.sh")):
            add_bytes(tar, f"{top}/bin/{script.name}", script.read_bytes(), 0o755)
        for name, path in sorted(jars().items()):
            add_bytes(tar, f"{top}/lib/{name}", path.read_bytes())
    # gzip with a fixed mtime and no file name in the header: reproducible bytes.
    with open(target, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                                   filename="") as gz:
        gz.write(buffer.getvalue())
    digest = hashlib.sha512(target.read_bytes()).hexdigest()
    (out / f"{target.name}.sha512").write_text(gpg_print_md(target.name, digest))
    sign(out, target)
    return target, digest


def gpg(home, *args):
    return subprocess.run(["gpg", "--homedir", str(home), "--batch", "--quiet",
                           "--pinentry-mode", "loopback", "--passphrase", "", *args],
                          capture_output=True, check=True).stdout


def sign(out, target):
    """A detached armored signature of ``target`` by the stand-in release manager's key
    (made once, then reused, so the fingerprint the lab pins stays put), and KEYS."""
    home = out / ".gnupg-standin"
    if not home.is_dir():
        home.mkdir(mode=0o700)
        gpg(home, "--quick-gen-key", "Stand-in release manager (TEST KEY, trust nothing) "
            "<standin@example.invalid>", "ed25519", "sign", "never")
    listing = gpg(home, "--with-colons", "--fingerprint").decode()
    fingerprint = next(line.split(":")[9] for line in listing.splitlines()
                       if line.startswith("fpr:"))
    (out / f"{target.name}.asc").write_bytes(
        gpg(home, "--armor", "--detach-sign", "--output", "-", str(target)))
    (out / "KEYS").write_bytes(b"Test keys of the stand-in releases; never trust them.\n\n"
                               + gpg(home, "--armor", "--export", fingerprint))
    (out / "KEYS.fingerprint").write_text(fingerprint + "\n")
    return fingerprint


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="build/standins")
    args = parser.parse_args()
    target, digest = build(args.out)
    print(f"{target}\nsha512={digest}")


if __name__ == "__main__":
    main()
