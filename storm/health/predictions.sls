# -*- coding: utf-8 -*-
# vim: ft=sls
# On supervisor hosts: waits (bounded) until the topologies that write prediction files
# (iris.results.path) write new ones here, from the model version the pillar deploys.
# A host that runs no sink task passes.  Changes nothing.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as storm with context %}
{%- for topo in storm.topologies if topo.options.get('iris.results.path') %}

storm-health-predictions-{{ topo.name }}-storm_topology-predictions_seen:
  storm_topology.predictions_seen:
    - name: {{ topo.name }}
    - results_path: {{ topo.options['iris.results.path'] | json }}
    - nimbus_seeds: {{ storm.nimbus_seeds | json }}
    - nimbus_port: {{ storm.thrift_port }}
    - host: {{ storm.address }}
    - model_version: {{ topo.model_version | json }}
    - timeout: {{ storm.health.timeout }}
    - interval: {{ storm.health.interval }}
{%- else %}

storm-health-predictions-nothing-test-nop:
  test.nop:
    - name: no enabled topology writes predictions (iris.results.path)
{%- endfor %}
