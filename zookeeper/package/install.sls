# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as zookeeper with context %}

include:
  - {{ tplroot }}.java.install
  - {{ tplroot }}.user.present

zookeeper-package-install-pkg-installed:
  pkg.installed:
    - pkgs: {{ zookeeper.pkgs | json }}
    - require:
      - sls: {{ tplroot }}.java.install
      - sls: {{ tplroot }}.user.present
