# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as zookeeper with context %}

{%- if zookeeper.java.pkgs %}
zookeeper-java-install-pkg-installed:
  pkg.installed:
    - pkgs: {{ zookeeper.java.pkgs | json }}
{%- endif %}

zookeeper-java-install-bin-file-exists:
  file.exists:
    - name: {{ zookeeper.java.bin }}
{%- if zookeeper.java.pkgs %}
    - require:
      - pkg: zookeeper-java-install-pkg-installed
{%- endif %}
