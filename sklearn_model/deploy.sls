# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as sklearn_model with context %}

sklearn_model-deploy-root-file-directory:
  file.directory:
    - name: {{ sklearn_model.root }}
    - user: root
    - group: root
    - mode: '0755'
    - makedirs: true

{#- Fetched, checksummed, verified in the workers' environment (as verify_user, never
    root), then switched in; a bad artifact leaves `current` where it was.  A built model's
    sha256 comes from the master (`published`, handed over by the orchestrate). #}
{%- for name, model in sklearn_model.deploy.items() %}

sklearn_model-deploy-{{ name }}-sklearn_model-deployed:
  sklearn_model.deployed:
    - name: {{ name }}
    - version: '{{ model.version }}'
    - source: {{ model.source }}
    - source_hash: {{ model.source_hash | json }}
    - root: {{ model.root }}
    - python: {{ model.python }}
    - keep: {{ model.keep }}
    - verify_user: {{ sklearn_model.verify_user | json }}
    - require:
      - file: sklearn_model-deploy-root-file-directory
{%- endfor %}
