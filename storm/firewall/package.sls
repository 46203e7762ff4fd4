# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as storm with context %}
{%- if storm.firewall.enabled %}

storm-firewall-package-pkg-installed:
  pkg.installed:
    - pkgs: {{ storm.firewall.pkgs | json }}
{%- else %}

storm-firewall-package-test-nop:
  test.nop:
    - name: storm:firewall is off on this host
{%- endif %}
