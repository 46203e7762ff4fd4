# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as zookeeper with context %}
{#- A host outside cluster:zookeeper would start a server nobody else knows about. #}
{%- if zookeeper.myid is none %}
{{ raise('zookeeper: minion ' ~ grains.id ~ ' is not a member of cluster:zookeeper; add it there (or give it the zookeeper role) before applying zookeeper') }}
{%- endif %}

include:
  - {{ tplroot }}.java.install
  - {{ tplroot }}.user.present
  - {{ tplroot }}.{{ zookeeper.install_method }}.install
