# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as conda with context %}

{%- for name, env in conda.envs.items() %}

conda-environments-clean-{{ name }}-conda_env-absent:
  conda_env.absent:
    - name: {{ name }}
    - conda: {{ conda.conda }}
    - prefix: {{ env.prefix }}
{%- endfor %}
