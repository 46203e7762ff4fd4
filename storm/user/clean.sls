# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as storm with context %}

{#- Kept with the state: files that survive a clean keep an owner that can read them. #}
{%- if storm.clean.remove_state %}

include:
  - {{ tplroot }}.archive.clean

storm-user-clean-user-absent:
  user.absent:
    - name: {{ storm.user.name }}
    - require:
      - sls: {{ tplroot }}.archive.clean

storm-user-clean-group-absent:
  group.absent:
    - name: {{ storm.user.group }}
    - require:
      - user: storm-user-clean-user-absent
{%- endif %}
