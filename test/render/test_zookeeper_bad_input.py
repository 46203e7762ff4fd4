"""Pillars that cannot describe a healthy quorum stop the render with the key named, so no
state runs and nothing on a host changes."""

import pytest
from saltrender import RenderError

ONE = [{"id": 1, "minion": "zk1"}]
THREE = [{"id": 1, "minion": "zk1"}, {"id": 2, "minion": "zk2"}, {"id": 3, "minion": "zk3"}]

CASES = {
    "even quorum": ({"cluster": {"zookeeper": THREE[:2]}},
                    "cluster:zookeeper: 2 members; a quorum needs an odd number"),
    "empty quorum": ({"cluster": {"zookeeper": []}}, "cluster:zookeeper: no members"),
    "no cluster at all": ({}, "cluster:zookeeper: no members"),
    "duplicate ids": ({"cluster": {"zookeeper": [dict(THREE[0]), dict(THREE[1], id=1),
                                                 THREE[2]]}},
                      "cluster:zookeeper:1:id: id 1 is used by both zk1 and zk2"),
    "port out of range": ({"cluster": {"zookeeper": ONE},
                           "zookeeper": {"ports": {"client": 65536}}},
                          "zookeeper:ports:client: 65536 is out of range: a TCP port"),
    "archive without checksum": ({"cluster": {"zookeeper": ONE},
                                  "zookeeper": {"install_method": "archive",
                                                "archive": {"source_hash": ""}}},
                                 "zookeeper:archive:source_hash: missing"),
    "signature without fingerprints": (
        {"cluster": {"zookeeper": ONE},
         "zookeeper": {"install_method": "archive",
                       "archive": {"signature": {"enabled": True}}}},
        "zookeeper:archive:signature:fingerprints: required while "
        "zookeeper:archive:signature:enabled is true"),
    "signature pinned by key id": (
        {"cluster": {"zookeeper": ONE},
         "zookeeper": {"install_method": "archive",
                       "archive": {"signature": {"enabled": True,
                                                 "fingerprints": ["0xDEADBEEF"]}}}},
        "zookeeper:archive:signature:fingerprints:0: '0xDEADBEEF' is not a key fingerprint"),
    "unknown install method": ({"cluster": {"zookeeper": ONE},
                                "zookeeper": {"install_method": "snap"}},
                               "zookeeper:install_method: 'snap' is not one of package, archive"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_pillar_fails_at_render_naming_the_key(minion, pillar, case):
    data, message = CASES[case]
    host = minion(pillar(data), "zk1")
    for sls in ("zookeeper", "zookeeper.install"):
        with pytest.raises(RenderError) as failure:
            host.show_sls(sls)
        assert message in str(failure.value)
