# -*- coding: utf-8 -*-
# vim: ft=sls
# Waits (bounded) until every member of cluster:zookeeper serves and there is one leader.
# Changes nothing; the orchestrate runs it on one member after applying them all.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as zookeeper with context %}

zookeeper-health-quorum-zookeeper_quorum-ready:
  zookeeper_quorum.ready:
    - port: {{ zookeeper.ports.client }}
    - timeout: {{ zookeeper.health.timeout }}
    - interval: {{ zookeeper.health.interval }}
