# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as zookeeper with context %}

{#- Kept with the data: files that survive a clean keep an owner that can read them. #}
{%- if zookeeper.clean.remove_data %}

include:
  - {{ tplroot }}.{{ zookeeper.install_method }}.clean

zookeeper-user-clean-user-absent:
  user.absent:
    - name: {{ zookeeper.user.name }}
    - require:
      - sls: {{ tplroot }}.{{ zookeeper.install_method }}.clean

zookeeper-user-clean-group-absent:
  group.absent:
    - name: {{ zookeeper.user.group }}
    - require:
      - user: zookeeper-user-clean-user-absent
{%- endif %}
