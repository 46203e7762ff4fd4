# -*- coding: utf-8 -*-
# vim: ft=sls
# Nimbus asks InetAddress.getLocalHost() before it reads storm.local.hostname: the host's
# own name must resolve, or nimbus dies at start.  Map it to the host's cluster address
# (what storm.local.hostname says), which is also what the other hosts reach it by.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as storm with context %}

include:
  - {{ tplroot }}.install
{%- if storm.address %}

storm-config-hosts-own-name-host-present:
  host.present:
    - name: {{ grains.host }}
    - ip: {{ storm.address }}
    - require:
      - sls: {{ tplroot }}.install
{%- endif %}
