# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as storm with context %}
{%- from tplroot ~ "/libtofs.jinja" import files_switch with context %}

include:
  - {{ tplroot }}.config
  - {{ tplroot }}.firewall

{#- One unit per daemon this host's roles call for, all from one template. #}
{%- for daemon in storm.daemons_here %}
{%-   if storm.launch[daemon].webapp %}

# The render refused this daemon when storm:archive:webapp is false; this catches an
# install that says it has lib-webapp/ but does not, before the unit is written.
storm-service-running-{{ daemon }}-webapp-file-exists:
  file.exists:
    - name: {{ storm.archive.home }}/lib-webapp
    - require:
      - sls: {{ tplroot }}.config
    - require_in:
      - file: storm-service-running-{{ daemon }}-unit-file-managed
{%-   endif %}

storm-service-running-{{ daemon }}-unit-file-managed:
  file.managed:
    - name: /etc/systemd/system/storm-{{ daemon }}.service
    - source: {{ files_switch(['storm-daemon.service.jinja'], lookup='storm-service-running-unit-file-managed') }}
    - template: jinja
    - user: root
    - group: {{ storm.rootgroup }}
    - mode: '0644'
    - context:
        storm: {{ storm | json }}
        daemon: {{ daemon }}
    - require:
      - sls: {{ tplroot }}.config
{%- endfor %}

storm-service-running-units-module-run:
  module.run:
    - service.systemctl_reload: []
    - onchanges:
{%- for daemon in storm.daemons_here %}
      - file: storm-service-running-{{ daemon }}-unit-file-managed
{%- endfor %}

# storm.yaml, storm-env.sh, the unit or a new version (the `current` link) restarts the
# daemons of this host; the orchestrate applies hosts one at a time, and a restarted
# supervisor must be registered again before the next host is touched (below).
{%- for daemon in storm.daemons_here %}

storm-service-running-{{ daemon }}-service-running:
  service.running:
    - name: storm-{{ daemon }}
    - enable: true
    # Storm's ports are shut to outsiders before a daemon opens them.
    - require:
      - sls: {{ tplroot }}.firewall
    - watch:
      - sls: {{ tplroot }}.config
      - file: storm-archive-install-current-file-symlink
      - file: storm-service-running-{{ daemon }}-unit-file-managed
      - module: storm-service-running-units-module-run
{%- endfor %}
{%- if 'supervisor' in storm.daemons_here %}

# After a (re)start, wait until this supervisor is registered again with its slots, by a
# registration younger than the restart, so a rolling change moves one host at a time.
storm-service-running-supervisor-storm_cluster-supervisors_registered:
  storm_cluster.supervisors_registered:
    - name: {{ storm.address }}
    - seeds: {{ storm.nimbus_seeds | json }}
    - port: {{ storm.thrift_port }}
    - hosts: [{{ storm.address }}]
    - slots: {{ storm.storm_yaml['supervisor.slots.ports'] | length }}
    - fresh: true
    - timeout: {{ storm.health.timeout }}
    - interval: {{ storm.health.interval }}
    - onchanges:
      - service: storm-service-running-supervisor-service-running
{%- endif %}
