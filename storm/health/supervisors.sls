# -*- coding: utf-8 -*-
# vim: ft=sls
# Waits (bounded) until every host of cluster:supervisor is registered with its slots.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as storm with context %}

storm-health-supervisors-storm_cluster-supervisors_registered:
  storm_cluster.supervisors_registered:
    - seeds: {{ storm.nimbus_seeds | json }}
    - port: {{ storm.thrift_port }}
    - hosts: {{ storm.members.supervisor | map(attribute='address') | list | json }}
    - slots: {{ storm.storm_yaml['supervisor.slots.ports'] | length }}
    - timeout: {{ storm.health.timeout }}
    - interval: {{ storm.health.interval }}
