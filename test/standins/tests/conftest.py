"""Fixtures: the Storm distribution under test, a real ZooKeeper on loopback, a scratch
streamparse 5.0.1 virtualenv, and a helper that runs `bin/storm` daemons and kills them.

By default the tests build and use the stand-in (test/standins/build_storm.py).  Set
STORM_TARBALL=/path/to/apache-storm-2.8.8.tar.gz to run the same tests against a real
Storm distribution (tests of stand-in-only behaviour are then skipped).
"""

import os
import pathlib
import shutil
import socket
import subprocess
import sys

import pytest
from standin_helpers import StormCluster, free_port, wait_for

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[2]
BUILD = REPO / "build" / "standins"
JAVA_CP = ["/usr/share/java/zookeeper.jar", "/usr/share/java/slf4j-simple.jar"]
SPARSE_PINS = ["streamparse==5.0.1", "setuptools<81"]


@pytest.fixture(scope="session")
def storm_tarball():
    given = os.environ.get("STORM_TARBALL")
    if given:
        return pathlib.Path(given)
    subprocess.run([sys.executable, str(REPO / "test/standins/build_storm.py"), "--out",
                    str(BUILD), "--python", sys.executable], check=True, capture_output=True)
    return BUILD / "apache-storm-2.8.8.tar.gz"


@pytest.fixture(scope="session")
def storm_home(storm_tarball, tmp_path_factory):
    target = tmp_path_factory.mktemp("storm-install")
    subprocess.run(["tar", "-xzf", str(storm_tarball), "-C", str(target)], check=True)
    (home,) = target.iterdir()
    return home


@pytest.fixture(scope="session")
def is_standin(storm_home):
    return (storm_home / "STANDIN.txt").exists()


@pytest.fixture
def standin_only(is_standin):
    if not is_standin:
        pytest.skip("behaviour of the stand-in only (real Storm ignores unknown keys etc.)")


@pytest.fixture(scope="session")
def zookeeper(tmp_path_factory):
    """A standalone ZooKeeper (Debian's jars) on a free loopback port; yields the port."""
    if not all(pathlib.Path(p).exists() for p in JAVA_CP) or not shutil.which("java"):
        pytest.fail("needs Java and Debian's zookeeper package (apt-get install zookeeper)")
    workdir = tmp_path_factory.mktemp("zookeeper")
    port = free_port()
    cfg = workdir / "zoo.cfg"
    # tickTime 500 ms lets sessions be as short as 1 s, so ephemeral nodes of a killed
    # daemon vanish within the tests' storm.zookeeper.session.timeout.
    cfg.write_text(f"tickTime=500\ndataDir={workdir / 'data'}\nclientPort={port}\n"
                   "clientPortAddress=127.0.0.1\nadmin.enableServer=false\n"
                   "4lw.commands.whitelist=ruok,srvr\n")
    log = open(workdir / "zookeeper.log", "wb")  # closed at teardown
    proc = subprocess.Popen(
        ["java", "-Xmx128m", "-cp", ":".join([str(workdir), *JAVA_CP]),
         "org.apache.zookeeper.server.quorum.QuorumPeerMain", str(cfg)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def ruok():
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"ruok")
            return s.recv(4) == b"imok"

    try:
        wait_for(ruok, 30, "ZooKeeper to answer ruok")
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


@pytest.fixture(scope="session")
def sparse_venv():
    """A virtualenv (Debian's python3, like the hosts) with streamparse 5.0.1, cached."""
    venv = BUILD / "sparse-venv"
    stamp = venv / ".pins"
    if not (stamp.exists() and stamp.read_text() == repr(SPARSE_PINS)):
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin/pip"), "install", "--quiet",
                        "--disable-pip-version-check", *SPARSE_PINS], check=True)
        stamp.write_text(repr(SPARSE_PINS))
    return venv


@pytest.fixture(scope="module")
def cluster_factory(storm_home, zookeeper, tmp_path_factory):
    """Make StormClusters with their own ZooKeeper root; all stopped at module end."""
    made = []

    def make(root):
        cluster = StormCluster(storm_home, tmp_path_factory.mktemp(root.strip("/")),
                               zookeeper, root)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.stop_all()


@pytest.fixture(scope="session")
def zk_client(zookeeper):
    from kazoo.client import KazooClient

    client = KazooClient(hosts=f"127.0.0.1:{zookeeper}", timeout=10)
    client.start(timeout=15)
    yield client
    client.stop()
    client.close()
