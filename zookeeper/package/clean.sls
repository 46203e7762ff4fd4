# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as zookeeper with context %}

include:
  - {{ tplroot }}.config.clean

zookeeper-package-clean-pkg-removed:
  pkg.removed:
    - pkgs: {{ zookeeper.pkgs | json }}
    - require:
      - sls: {{ tplroot }}.config.clean
