# -*- coding: utf-8 -*-
# vim: ft=sls
# On the build host of each `build:` model: train it once in the workers' environment and
# publish the artifact through the master for every worker to fetch and verify.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as sklearn_model with context %}

{%- for name, build in sklearn_model.builds.items() if build.minion == grains.id %}

sklearn_model-build-{{ name }}-sklearn_model-built:
  sklearn_model.built:
    - name: {{ name }}
    - version: '{{ build.version }}'
    - script: {{ build.script }}
    - python: {{ build.python }}
    - output: {{ build.output }}
{%- else %}

sklearn_model-build-nothing-test-nop:
  test.nop:
    - name: no model is built on {{ grains.id }}
{%- endfor %}
