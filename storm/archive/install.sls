# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as storm with context %}
{%- set archive = storm.archive %}

include:
  - {{ tplroot }}.java.install
  - {{ tplroot }}.user.present

# Each version unpacks into its own root-owned directory and `current` switches between
# them, so an upgrade never rewrites the files a running daemon uses.
storm-archive-install-archive-extracted:
  archive.extracted:
    - name: {{ archive.install_dir }}
    - source: {{ archive.source }}
    - source_hash: {{ archive.source_hash }}
    - if_missing: {{ archive.home }}/bin/storm
    - enforce_toplevel: true
    - user: root
    - group: {{ storm.rootgroup }}
    - require:
      - sls: {{ tplroot }}.java.install
      - sls: {{ tplroot }}.user.present

storm-archive-install-current-file-symlink:
  file.symlink:
    - name: {{ archive.current }}
    - target: {{ archive.home }}
    - force: true
    - require:
      - archive: storm-archive-install-archive-extracted
