# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as conda with context %}
{%- set installer = conda.installer %}
{%- set cached = '/var/cache/salt-conda/Miniforge3-' ~ installer.version ~ '.sh' %}
{%- set marker = conda.prefix ~ '/conda-meta/salt-installer-version' %}

# The installer, verified against its checksum before anything runs it.
conda-installer-install-file-managed:
  file.managed:
    - name: {{ cached }}
    - source: {{ installer.source }}
    - source_hash: {{ installer.source_hash }}
    - makedirs: true
    - user: root
    - group: {{ conda.rootgroup }}
    - mode: '0700'

# Batch mode into the prefix; -u updates an installation of another version in place.
# The marker records which version is installed, so a present one is never reinstalled.
conda-installer-install-cmd-run:
  cmd.run:
    - name: >-
        bash {{ cached }} -b -p {{ conda.prefix }}
        {%- if salt['file.file_exists'](conda.prefix ~ '/bin/conda') %} -u{% endif %}
        && echo {{ installer.version }} > {{ marker }}
    - unless: test "$(cat {{ marker }} 2>/dev/null)" = "{{ installer.version }}"
    - env:
        - HOME: /root
    - require:
      - file: conda-installer-install-file-managed

conda-installer-install-prefix-file-directory:
  file.directory:
    - name: {{ conda.prefix }}
    - user: root
    - group: {{ conda.rootgroup }}
    - mode: '0755'
    - require:
      - cmd: conda-installer-install-cmd-run
