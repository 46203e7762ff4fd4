# -*- coding: utf-8 -*-
# vim: ft=sls
# Writes the merged, resolved settings of this minion to a YAML file, for tests and for
# operators who want to see what the formula will do before applying it.  Secrets (the
# ZooKeeper password and what is derived from it, Storm's *.password keys) are redacted.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata with context %}
{%- import_yaml tplroot ~ '/parameters/schema.yaml' as schema %}
{%- set shown = salt['formula_settings.redacted'](mapdata, schema, ['zookeeper_payload']) %}
{%- set output_dir = salt['config.get']('cachedir', '/var/cache/salt') ~ '/formula-mapdata' %}

storm-mapdata-file-managed:
  file.managed:
    - name: {{ output_dir }}/{{ tplroot }}.yaml
    - makedirs: true
    - contents: |
        {{ {tplroot: shown} | yaml(False) | indent(8) }}
