# -*- coding: utf-8 -*-
# vim: ft=sls
# Writes the merged, resolved settings of this minion to a YAML file, for tests and for
# operators who want to see what the formula will do before applying it.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata with context %}
{%- set output_dir = salt['config.get']('cachedir', '/var/cache/salt') ~ '/formula-mapdata' %}

sklearn_model-mapdata-file-managed:
  file.managed:
    - name: {{ output_dir }}/{{ tplroot }}.yaml
    - makedirs: true
    - contents: |
        {{ {tplroot: mapdata} | yaml(False) | indent(8) }}
