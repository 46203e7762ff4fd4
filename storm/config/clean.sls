# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as storm with context %}

include:
  - {{ tplroot }}.service.clean

storm-config-clean-config-dir-file-absent:
  file.absent:
    - name: {{ storm.config_dir }}
    - require:
      - sls: {{ tplroot }}.service.clean

{#- storm.local.dir and the cluster's znodes go together or not at all: nimbus or the
    supervisors loop on a reinstall that finds one without the other.  The znodes are the
    cluster's, so only nimbus hosts remove them (after their daemons stopped); clean the
    supervisors first.  Talking to ZooKeeper needs kazoo importable by the minion. #}
{%- if storm.clean.remove_state %}
{%-   if 'nimbus' in storm.roles %}
{%-     if 'storm_znodes.remove' not in salt %}
{{ raise('storm:clean:remove_state: removing the cluster znodes needs the kazoo Python package where the salt-minion runs (e.g. salt-pip install kazoo)') }}
{%-     endif %}
{%-     set yaml = storm.storm_yaml %}

storm-config-clean-znodes-storm_cluster-znodes_absent:
  storm_cluster.znodes_absent:
    - name: {{ yaml['storm.zookeeper.root'] }}
    - hosts: {{ yaml['storm.zookeeper.servers'] | map('string') | map('regex_replace', '$', ':' ~ yaml['storm.zookeeper.port']) | join(',') }}
    - auth: {{ yaml.get('storm.zookeeper.auth.payload') | json }}
    - require:
      - sls: {{ tplroot }}.service.clean
{%-   endif %}
{%-   for key in ['local_dir', 'log_dir'] %}

storm-config-clean-{{ key | replace('_', '-') }}-file-absent:
  file.absent:
    - name: {{ storm[key] }}
    - require:
      - sls: {{ tplroot }}.service.clean
{%-     if 'nimbus' in storm.roles %}
      - storm_cluster: storm-config-clean-znodes-storm_cluster-znodes_absent
{%-     endif %}
{%-   endfor %}
{%- endif %}
