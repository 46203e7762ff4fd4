# -*- coding: utf-8 -*-
# vim: ft=sls
# On supervisor hosts: the directories the topologies' components write to (the iris
# sink's predictions, the spout's offsets), owned by the storm user the workers run as.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as storm with context %}

include:
  - {{ tplroot }}.config

{%- if 'supervisor' in storm.roles %}
{%-   for path in storm.topologies | map(attribute='worker_dirs') | sum(start=[]) | unique %}

storm-topology-dirs-{{ path }}-file-directory:
  file.directory:
    - name: {{ path }}
    - user: {{ storm.user.name }}
    - group: {{ storm.user.group }}
    - mode: '0750'
    - makedirs: true
    - require:
      - sls: {{ tplroot }}.config
{%-   endfor %}
{%- endif %}
