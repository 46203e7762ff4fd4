# -*- coding: utf-8 -*-
# vim: ft=sls
#
#   salt-run state.orchestrate storm.orchestrate
#
# Brings the cluster up in order, each step waiting for the health of the one before.
# Targets come from the one place that decides membership (the clustermap module), so the
# orchestrate, zoo.cfg and storm.yaml always agree on who is who.  Every step requires the
# previous one and is failhard: a failed step names its hosts and nothing after it runs;
# fixing the cause and re-running converges, and a run on a healthy cluster reports no
# changes.  The chain: modules + mine, ZooKeeper and its quorum, conda and the model on the
# workers, nimbus and a leader, supervisors and all registered, the topologies submitted,
# ACTIVE, and their predictions seen on the workers.
{%- if not ('clustermap.members' in salt and 'storm_config.resolve' in salt
             and 'storm_topology.resolve' in salt and 'formula_settings.mapdata' in salt
             and 'zookeeper_quorum.restart_order' in salt and 'sklearn_model.handoff' in salt) %}
{{ raise('storm.orchestrate: the package modules are not synced to the master; run `salt-run saltutil.sync_all` once after adding or updating the formulas') }}
{%- endif %}
{%- set members = salt['clustermap.members']() %}
{#- Every formula's settings are checked here, on the master, before the first step: a bad
    key stops the orchestrate naming its path, with no host changed.  Each map renders
    what every minion's render checks too (schema, membership, ports per host). #}
{%- from "zookeeper/map.jinja" import mapdata as zookeeper_settings with context %}
{%- from "conda/map.jinja" import mapdata as conda_settings with context %}
{%- from "sklearn_model/map.jinja" import mapdata as sklearn_model with context %}
{%- set zookeeper = members.zookeeper | map(attribute='minion') | list %}
{%- set everyone = (zookeeper
                    + members.nimbus | map(attribute='minion') | list
                    + members.supervisor | map(attribute='minion') | list) | unique | list %}

storm-orchestrate-sync-salt-state:
  salt.state:
    - failhard: true
    - tgt: {{ everyone | join(',') }}
    - tgt_type: list
    - sls: storm.cluster.sync

# Packages, user and directories on every ZooKeeper host at once: nothing restarts here.
storm-orchestrate-zookeeper-install-salt-state:
  salt.state:
    - failhard: true
    - tgt: {{ zookeeper | join(',') }}
    - tgt_type: list
    - sls: zookeeper.install
    - require:
      - salt: storm-orchestrate-sync-salt-state

# Config and service one host at a time, in the order zookeeper_quorum.restart_order gives
# (followers first, the leader last): a changed zoo.cfg restarts one member, which must
# serve again before the next one is touched, so the quorum never goes down and a change
# costs one election.  One step per member, each requiring the one before, because
# `batch: 1` takes minions in whatever order they answer.
{%- set chain = namespace(previous='storm-orchestrate-zookeeper-install-salt-state') %}
{%- for member in salt['zookeeper_quorum.restart_order'](zookeeper_settings.ports.client) %}

storm-orchestrate-zookeeper-member-{{ member }}-salt-state:
  salt.state:
    - failhard: true
    - tgt: {{ member }}
    - sls: zookeeper
    - require:
      - salt: {{ chain.previous }}
{%-   set chain.previous = 'storm-orchestrate-zookeeper-member-' ~ member ~ '-salt-state' %}
{%- endfor %}

storm-orchestrate-zookeeper-quorum-salt-state:
  salt.state:
    - failhard: true
    - tgt: {{ zookeeper | first }}
    - sls: zookeeper.health
    - require:
      - salt: {{ chain.previous }}
{%- set nimbus = members.nimbus | map(attribute='minion') | list %}
{%- set supervisors = members.supervisor | map(attribute='minion') | list %}
{#- The storm map (rendered here on the master) says which topologies to submit; sparse
    runs from their conda environment, so nimbus hosts get conda too when there are any. #}
{%- set topologies = [] %}
{%- if nimbus %}
{%-   from "storm/map.jinja" import mapdata as storm with context %}
{%-   set topologies = storm.topologies if supervisors else [] %}
{%- endif %}
{%- set conda_hosts = (supervisors + (nimbus[:1] if topologies else [])) | unique | list %}
{%- set models = sklearn_model.deploy %}
{%- set workers_ready = 'storm-orchestrate-zookeeper-quorum-salt-state' %}
{%- if supervisors %}

# The workers' conda environment, where the topology's Python runs and models are trained.
storm-orchestrate-conda-salt-state:
  salt.state:
    - failhard: true
    - tgt: {{ conda_hosts | join(',') }}
    - tgt_type: list
    - sls: conda
    - require:
      - salt: storm-orchestrate-zookeeper-quorum-salt-state
{%-   set workers_ready = 'storm-orchestrate-conda-salt-state' %}
{%-   if models %}

# Models with `build:` are trained once, on their build worker, and published via the master.
storm-orchestrate-model-build-salt-state:
  salt.state:
    - failhard: true
    - tgt: {{ supervisors | join(',') }}
    - tgt_type: list
    - sls: sklearn_model.build
    - require:
      - salt: storm-orchestrate-conda-salt-state

{%-     set model_ready = namespace(step='salt: storm-orchestrate-model-build-salt-state') %}
{%-     for name, build in sklearn_model.builds | dictsort %}

# Here on the master: the sha256 of the artifact is fixed from the master's own copy, not
# read from beside it, and the master's minionfs must serve the build host alone.
storm-orchestrate-model-publish-{{ name }}-sklearn_model-published:
  sklearn_model.published:
    - failhard: true
    - name: {{ name }}
    - version: '{{ build.version }}'
    - minion: {{ build.minion }}
    - path: {{ build.artifact }}
    - others: {{ everyone | reject('equalto', build.minion) | list | json }}
    - strict: {{ sklearn_model.build.minionfs_strict | json }}
    - require:
      - {{ model_ready.step }}
{%-       set model_ready.step = 'sklearn_model: storm-orchestrate-model-publish-' ~ name
                                 ~ '-sklearn_model-published' %}
{%-     endfor %}

# Every worker fetches, verifies (in its own environment, unprivileged) and switches to
# each model; a built one is checked against the hash the master fixed, handed over at
# the time this step runs (a slot, evaluated here on the master after publishing).
storm-orchestrate-model-salt-state:
  salt.state:
    - failhard: true
    - tgt: {{ supervisors | join(',') }}
    - tgt_type: list
    - sls: sklearn_model
{%-     if sklearn_model.builds %}
    - pillar:
        sklearn_model: __slot__:salt:sklearn_model.handoff({{ sklearn_model.builds | list | join(', ') }})
{%-     endif %}
    - require:
      - {{ model_ready.step }}
{%-     set workers_ready = 'storm-orchestrate-model-salt-state' %}
{%-   endif %}
{%- endif %}
{%- if nimbus %}

# Java, user and the versioned Storm install on every Storm host at once: nothing runs yet.
storm-orchestrate-storm-install-salt-state:
  salt.state:
    - failhard: true
    - tgt: {{ (nimbus + supervisors) | unique | join(',') }}
    - tgt_type: list
    - sls: storm.install
    - require:
      - salt: {{ workers_ready }}

# Nimbus (and UI) one host at a time, then a leader.
storm-orchestrate-nimbus-salt-state:
  salt.state:
    - failhard: true
    - tgt: {{ nimbus | join(',') }}
    - tgt_type: list
    - sls: storm
    - batch: 1
    - require:
      - salt: storm-orchestrate-storm-install-salt-state

storm-orchestrate-nimbus-leader-salt-state:
  salt.state:
    - failhard: true
    - tgt: {{ nimbus | first }}
    - sls: storm.health.leader
    - require:
      - salt: storm-orchestrate-nimbus-salt-state
{%-   if supervisors %}

# Supervisors one at a time (a restart moves its workers), then all registered.
storm-orchestrate-supervisors-salt-state:
  salt.state:
    - failhard: true
    - tgt: {{ supervisors | join(',') }}
    - tgt_type: list
    - sls: storm
    - batch: 1
    - require:
      - salt: storm-orchestrate-nimbus-leader-salt-state

storm-orchestrate-supervisors-registered-salt-state:
  salt.state:
    - failhard: true
    - tgt: {{ nimbus | first }}
    - sls: storm.health.supervisors
    - require:
      - salt: storm-orchestrate-supervisors-salt-state
{%-     if topologies %}

# Build the jars and submit to the leader (a same topology is left alone, a changed one
# replaced), then ACTIVE, then the sinks writing predictions on the workers.
storm-orchestrate-topology-submit-salt-state:
  salt.state:
    - failhard: true
    - tgt: {{ nimbus | first }}
    - sls: storm.topology.submit
    - require:
      - salt: storm-orchestrate-supervisors-registered-salt-state

storm-orchestrate-topology-active-salt-state:
  salt.state:
    - failhard: true
    - tgt: {{ nimbus | first }}
    - sls: storm.health.topology
    - require:
      - salt: storm-orchestrate-topology-submit-salt-state

storm-orchestrate-predictions-salt-state:
  salt.state:
    - failhard: true
    - tgt: {{ supervisors | join(',') }}
    - tgt_type: list
    - sls: storm.health.predictions
    - require:
      - salt: storm-orchestrate-topology-active-salt-state
{%-     endif %}
{%-   endif %}
{%- endif %}
