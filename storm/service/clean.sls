# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as storm with context %}

{#- Every daemon the formula can install, whatever this host's roles are now. #}
{%- for daemon in ['supervisor', 'logviewer', 'drpc', 'ui', 'nimbus'] %}

storm-service-clean-{{ daemon }}-service-dead:
  service.dead:
    - name: storm-{{ daemon }}
    - enable: false

storm-service-clean-{{ daemon }}-unit-file-absent:
  file.absent:
    - name: /etc/systemd/system/storm-{{ daemon }}.service
    - require:
      - service: storm-service-clean-{{ daemon }}-service-dead
{%- endfor %}

storm-service-clean-units-module-run:
  module.run:
    - service.systemctl_reload: []
    - onchanges:
{%- for daemon in ['supervisor', 'logviewer', 'drpc', 'ui', 'nimbus'] %}
      - file: storm-service-clean-{{ daemon }}-unit-file-absent
{%- endfor %}
