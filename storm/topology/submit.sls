# -*- coding: utf-8 -*-
# vim: ft=sls
# On the (first) nimbus host: copy each topology's streamparse project, build its jar and
# submit it to the leader with sparse (storm_topology.submitted: idempotent, replaces a
# changed topology as `if_changed` says, waits for ACTIVE).  sparse runs from the
# topology's conda environment, which the orchestrate puts on nimbus hosts too.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as storm with context %}
{%- for topo in storm.topologies %}

storm-topology-submit-{{ topo.name }}-project-file-recurse:
  file.recurse:
    - name: {{ topo.workdir }}/project
    - source: {{ topo.project }}
    - user: root
    - group: {{ storm.rootgroup }}
    - dir_mode: '0755'
    - file_mode: '0644'
    - makedirs: true
    - clean: true
    - exclude_pat: 'E@(__pycache__|\.pyc$|config\.json$)'

storm-topology-submit-{{ topo.name }}-storm_topology-submitted:
  storm_topology.submitted:
    - name: {{ topo.name }}
    - definition: {{ topo.definition }}
    - project: {{ topo.workdir }}/project
    - workdir: {{ topo.workdir }}
    - nimbus_seeds: {{ storm.storm_yaml['nimbus.seeds'] | json }}
    - nimbus_port: {{ storm.storm_yaml['nimbus.thrift.port'] }}
    - virtualenv_root: {{ topo.virtualenv_root }}
    - virtualenv_name: {{ topo.virtualenv_name }}
    - options: {{ topo.options | json }}
    - workers: {{ topo.workers }}
    - worker_hosts: {{ storm.members.supervisor | map(attribute='address') | list | json }}
    - model_version: {{ topo.model_version | json }}
    - model_change: {{ topo.model_change }}
    - if_changed: {{ topo.if_changed }}
    - kill_wait: {{ topo.kill_wait }}
    - zookeeper_payload: {{ topo.zookeeper_payload | json }}
    - timeout: {{ storm.health.timeout }}
    - interval: {{ storm.health.interval }}
    - require:
      - file: storm-topology-submit-{{ topo.name }}-project-file-recurse
{%- else %}

storm-topology-submit-nothing-test-nop:
  test.nop:
    - name: no topology is enabled (storm:topologies)
{%- endfor %}
