# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as storm with context %}

include:
  - {{ tplroot }}.config.clean

storm-archive-clean-install-dir-file-absent:
  file.absent:
    - name: {{ storm.archive.install_dir }}
    - require:
      - sls: {{ tplroot }}.config.clean
