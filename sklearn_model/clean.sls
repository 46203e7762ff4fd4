# -*- coding: utf-8 -*-
# vim: ft=sls
# Remove the models of pillar sklearn_model:models (every version) from this host.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as sklearn_model with context %}

{%- for name in sklearn_model.deploy %}

sklearn_model-clean-{{ name }}-file-absent:
  file.absent:
    - name: {{ sklearn_model.root }}/{{ name }}
{%- endfor %}
