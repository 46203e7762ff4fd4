# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as storm with context %}
{#- A host with no Storm role would run nothing; say so instead of installing for nothing. #}
{%- if not storm.roles %}
{{ raise('storm: minion ' ~ grains.id ~ ' is neither in cluster:nimbus nor in cluster:supervisor; add it to one of them (or give it the nimbus/supervisor role) before applying storm') }}
{%- endif %}

include:
  - {{ tplroot }}.java.install
  - {{ tplroot }}.user.present
  - {{ tplroot }}.archive.install
  - {{ tplroot }}.firewall.package
