# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as storm with context %}
{%- from tplroot ~ "/libtofs.jinja" import files_switch with context %}
{%- set user = storm.user %}

include:
  - {{ tplroot }}.install

# storm.local.dir holds nimbus' and supervisors' state; logs may hold topology data.
{%- for key in ['local_dir', 'log_dir'] %}
storm-config-file-{{ key | replace('_', '-') }}-file-directory:
  file.directory:
    - name: {{ storm[key] }}
    - user: {{ user.name }}
    - group: {{ user.group }}
    - mode: '0750'
    - makedirs: true
    - require:
      - sls: {{ tplroot }}.install
{%- endfor %}

storm-config-file-config-dir-file-directory:
  file.directory:
    - name: {{ storm.config_dir }}
    - user: root
    - group: {{ storm.rootgroup }}
    - mode: '0755'
    - makedirs: true
    - require:
      - sls: {{ tplroot }}.install

storm-config-file-storm-yaml-file-managed:
  file.managed:
    - name: {{ storm.config_dir }}/storm.yaml
    - source: {{ files_switch(['storm.yaml.jinja'], lookup='storm-config-file-storm-yaml-file-managed') }}
    - template: jinja
    - user: root
    - group: {{ user.group }}
    {#- It holds the ZooKeeper secret: readable by the daemons' group only, and no diff
        in the state's output or the master's job cache. #}
    - mode: '0640'
    - show_changes: false
    - context:
        storm: {{ storm | json }}
    - require:
      - file: storm-config-file-config-dir-file-directory

storm-config-file-env-file-managed:
  file.managed:
    - name: {{ storm.config_dir }}/storm-env.sh
    - source: {{ files_switch(['storm-env.sh.jinja'], lookup='storm-config-file-env-file-managed') }}
    - template: jinja
    - user: root
    - group: {{ user.group }}
    - mode: '0640'
    - context:
        storm: {{ storm | json }}
    - require:
      - file: storm-config-file-config-dir-file-directory

storm-config-file-log4j2-dir-file-directory:
  file.directory:
    - name: {{ storm.config_dir }}/log4j2
    - user: root
    - group: {{ storm.rootgroup }}
    - mode: '0755'
    - require:
      - file: storm-config-file-config-dir-file-directory

{#- The daemons' (cluster.xml) and workers' (worker.xml) logging: the formula's own, so
    the same files serve Apache's tarball and an install without log4j2/. #}
{%- for name in ['cluster', 'worker'] %}

storm-config-file-log4j2-{{ name }}-file-managed:
  file.managed:
    - name: {{ storm.config_dir }}/log4j2/{{ name }}.xml
    - source: {{ files_switch(['log4j2/' ~ name ~ '.xml.jinja'], lookup='storm-config-file-log4j2-' ~ name ~ '-file-managed') }}
    - template: jinja
    - user: root
    - group: {{ user.group }}
    - mode: '0640'
    - context:
        storm: {{ storm | json }}
    - require:
      - file: storm-config-file-log4j2-dir-file-directory
{%- endfor %}
