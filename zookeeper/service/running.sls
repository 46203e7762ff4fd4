# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as zookeeper with context %}
{%- from tplroot ~ "/libtofs.jinja" import files_switch with context %}
{%- set me = zookeeper.members | selectattr('id', 'equalto', zookeeper.myid) | first %}

include:
  - {{ tplroot }}.config

zookeeper-service-running-unit-file-managed:
  file.managed:
    - name: /etc/systemd/system/{{ zookeeper.service.name }}.service
    - source: {{ files_switch(['zookeeper.service.jinja'], lookup='zookeeper-service-running-unit-file-managed') }}
    - template: jinja
    - user: root
    - group: {{ zookeeper.rootgroup }}
    - mode: '0644'
    - context:
        zookeeper: {{ zookeeper | json }}
    - require:
      - sls: {{ tplroot }}.config

zookeeper-service-running-unit-module-run:
  module.run:
    - service.systemctl_reload: []
    - onchanges:
      - file: zookeeper-service-running-unit-file-managed

# A changed zoo.cfg, myid, env file or unit restarts this node.  The orchestrate applies
# this SLS one member at a time, and the next state holds the run until the restarted node
# serves again, so a config change never takes the quorum down.
zookeeper-service-running-service-running:
  service.running:
    - name: {{ zookeeper.service.name }}
    - enable: true
    - watch:
      - sls: {{ tplroot }}.config
      - file: zookeeper-service-running-unit-file-managed
      - module: zookeeper-service-running-unit-module-run

zookeeper-service-running-rejoined-zookeeper_quorum-node_serving:
  zookeeper_quorum.node_serving:
    - address: {{ me.address }}
    - port: {{ zookeeper.ports.client }}
    - timeout: {{ zookeeper.health.timeout }}
    - interval: {{ zookeeper.health.interval }}
    - onchanges:
      - service: zookeeper-service-running-service-running
