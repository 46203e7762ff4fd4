# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as conda with context %}

conda-config-clean-condarc-file-absent:
  file.absent:
    - name: {{ conda.prefix }}/.condarc
