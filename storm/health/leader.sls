# -*- coding: utf-8 -*-
# vim: ft=sls
# Waits (bounded) until the UI reports one nimbus as Leader.  Changes nothing.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as storm with context %}

storm-health-leader-storm_cluster-nimbus_leader:
  storm_cluster.nimbus_leader:
    - ui_url: {{ storm.ui_url }}
    - timeout: {{ storm.health.timeout }}
    - interval: {{ storm.health.interval }}
