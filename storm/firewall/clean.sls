# -*- coding: utf-8 -*-
# vim: ft=sls
# Stop the unit (which deletes the formula's table) and remove its files; the nft
# package stays, other rules may use it.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as storm with context %}

include:
  - {{ tplroot }}.service.clean

storm-firewall-clean-service-dead:
  service.dead:
    - name: storm-firewall
    - enable: false
    - require:
      - sls: {{ tplroot }}.service.clean

storm-firewall-clean-files-file-absent:
  file.absent:
    - names:
      - /etc/systemd/system/storm-firewall.service
      - {{ storm.config_dir }}/firewall.nft
    - require:
      - service: storm-firewall-clean-service-dead
