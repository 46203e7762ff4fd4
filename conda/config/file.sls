# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as conda with context %}
{%- from tplroot ~ "/libtofs.jinja" import files_switch with context %}

include:
  - {{ tplroot }}.installer

# The installation's own .condarc: channels, priority, mirrors and proxies for everyone
# who uses this conda, whatever their home directory says.
conda-config-file-condarc-file-managed:
  file.managed:
    - name: {{ conda.prefix }}/.condarc
    - source: {{ files_switch(['condarc.jinja'], lookup='conda-config-file-condarc-file-managed') }}
    - template: jinja
    - user: root
    - group: {{ conda.rootgroup }}
    - mode: '0644'
    - context:
        conda: {{ conda | json }}
    - require:
      - sls: {{ tplroot }}.installer
