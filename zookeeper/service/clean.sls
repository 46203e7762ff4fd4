# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as zookeeper with context %}

zookeeper-service-clean-service-dead:
  service.dead:
    - name: {{ zookeeper.service.name }}
    - enable: false

zookeeper-service-clean-unit-file-absent:
  file.absent:
    - name: /etc/systemd/system/{{ zookeeper.service.name }}.service
    - require:
      - service: zookeeper-service-clean-service-dead

zookeeper-service-clean-unit-module-run:
  module.run:
    - service.systemctl_reload: []
    - onchanges:
      - file: zookeeper-service-clean-unit-file-absent
