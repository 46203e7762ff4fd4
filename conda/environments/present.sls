# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as conda with context %}

include:
  - {{ tplroot }}.config

{#- Created when absent, updated with --prune only when the pillar spec changed. #}
{%- for name, env in conda.envs.items() %}

conda-environments-present-{{ name }}-conda_env-present:
  conda_env.present:
    - name: {{ name }}
    - conda: {{ conda.conda }}
    - prefix: {{ env.prefix }}
    - spec: {{ env.spec | json }}
    - require:
      - sls: {{ tplroot }}.config
{%- endfor %}
