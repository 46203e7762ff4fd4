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

# The supervisor's unit stops only the supervisor (KillMode=process: workers outlive its
# restarts), so its workers, their LogWriters and Python processes are stopped here, or
# they would keep running from the install being removed.
storm-service-clean-workers-cmd-run:
  cmd.run:
    - name: >-
        pkill -TERM -u {{ storm.user.name }}; for i in $(seq 20); do
        pgrep -u {{ storm.user.name }} >/dev/null || exit 0; sleep 0.5; done;
        pkill -KILL -u {{ storm.user.name }}; exit 0
    - onlyif: id -u {{ storm.user.name }} >/dev/null 2>&1 && pgrep -u {{ storm.user.name }}
    - require:
{%- for daemon in ['supervisor', 'logviewer', 'drpc', 'ui', 'nimbus'] %}
      - service: storm-service-clean-{{ daemon }}-service-dead
{%- endfor %}

storm-service-clean-units-module-run:
  module.run:
    - service.systemctl_reload: []
    - onchanges:
{%- for daemon in ['supervisor', 'logviewer', 'drpc', 'ui', 'nimbus'] %}
      - file: storm-service-clean-{{ daemon }}-unit-file-absent
{%- endfor %}
