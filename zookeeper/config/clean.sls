# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as zookeeper with context %}

include:
  - {{ tplroot }}.service.clean

{%- if zookeeper.install_method == 'package' and zookeeper.alternatives.get('link') %}

zookeeper-config-clean-conf-alternatives-cmd-run:
  cmd.run:
    - name: >-
        update-alternatives --remove {{ zookeeper.alternatives.name }}
        {{ zookeeper.config_dir }}
    - onlyif: >-
        update-alternatives --list {{ zookeeper.alternatives.name }}
        | grep -qx '{{ zookeeper.config_dir }}'
    - require:
      - sls: {{ tplroot }}.service.clean
{%- endif %}

zookeeper-config-clean-config-dir-file-absent:
  file.absent:
    - name: {{ zookeeper.config_dir }}
    - require:
      - sls: {{ tplroot }}.service.clean

{#- The data (snapshots, transaction log, myid) outlives a clean unless asked for. #}
{%- if zookeeper.clean.remove_data %}
{%-   for key in ['data_dir', 'datalog_dir', 'log_dir'] %}

zookeeper-config-clean-{{ key | replace('_', '-') }}-file-absent:
  file.absent:
    - name: {{ zookeeper[key] }}
    - require:
      - sls: {{ tplroot }}.service.clean
{%-   endfor %}
{%- endif %}
