# -*- coding: utf-8 -*-
# vim: ft=sls
# Waits (bounded) until every enabled topology is ACTIVE (per the leader nimbus).  Changes nothing.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as storm with context %}
{%- for topo in storm.topologies %}

storm-health-topology-{{ topo.name }}-storm_cluster-topology_active:
  storm_cluster.topology_active:
    - name: {{ topo.name }}
    - seeds: {{ storm.nimbus_seeds | json }}
    - port: {{ storm.thrift_port }}
    - timeout: {{ storm.health.timeout }}
    - interval: {{ storm.health.interval }}
{%- else %}

storm-health-topology-nothing-test-nop:
  test.nop:
    - name: no topology is enabled (storm:topologies)
{%- endfor %}
