# -*- coding: utf-8 -*-
# vim: ft=sls
# Waits (bounded) until one nimbus is the leader (asked over Nimbus' Thrift API).  Changes nothing.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as storm with context %}

storm-health-leader-storm_cluster-nimbus_leader:
  storm_cluster.nimbus_leader:
    - seeds: {{ storm.nimbus_seeds | json }}
    - port: {{ storm.thrift_port }}
    - timeout: {{ storm.health.timeout }}
    - interval: {{ storm.health.interval }}
