# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as storm with context %}
{%- set user = storm.user %}

storm-user-present-group-present:
  group.present:
    - name: {{ user.group }}
    - gid: {{ user.gid }}
    - system: true

storm-user-present-user-present:
  user.present:
    - name: {{ user.name }}
    - uid: {{ user.uid }}
    - gid: {{ user.gid }}
    - home: {{ user.home }}
    - createhome: false
    - shell: {{ user.shell }}
    - system: true
    - fullname: Apache Storm
    - require:
      - group: storm-user-present-group-present
