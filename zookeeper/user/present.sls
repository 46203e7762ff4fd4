# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as zookeeper with context %}
{%- set user = zookeeper.user %}

# Created before the package, whose maintainer scripts then keep it (and its fixed ids)
# instead of allocating a dynamic system user.
zookeeper-user-present-group-present:
  group.present:
    - name: {{ user.group }}
    - gid: {{ user.gid }}
    - system: true

zookeeper-user-present-user-present:
  user.present:
    - name: {{ user.name }}
    - uid: {{ user.uid }}
    - gid: {{ user.gid }}
    - home: {{ user.home }}
    - createhome: false
    - shell: {{ user.shell }}
    - system: true
    - fullname: ZooKeeper
    - require:
      - group: zookeeper-user-present-group-present
