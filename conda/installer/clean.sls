# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as conda with context %}

include:
  - {{ tplroot }}.environments.clean

{%- if conda.clean.remove_install %}

conda-installer-clean-prefix-file-absent:
  file.absent:
    - name: {{ conda.prefix }}
    - require:
      - sls: {{ tplroot }}.environments.clean
{%- endif %}

conda-installer-clean-cache-file-absent:
  file.absent:
    - name: /var/cache/salt-conda
