# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as zookeeper with context %}

include:
  - {{ tplroot }}.config.clean

zookeeper-archive-clean-install-dir-file-absent:
  file.absent:
    - name: {{ zookeeper.archive.install_dir }}
    - require:
      - sls: {{ tplroot }}.config.clean
