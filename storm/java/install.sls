# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as storm with context %}

{%- if storm.java.pkgs %}
storm-java-install-pkg-installed:
  pkg.installed:
    - pkgs: {{ storm.java.pkgs | json }}
{%- endif %}

storm-java-install-home-file-exists:
  file.exists:
    - name: {{ storm.java.home }}/bin/java
{%- if storm.java.pkgs %}
    - require:
      - pkg: storm-java-install-pkg-installed
{%- endif %}
