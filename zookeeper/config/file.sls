# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as zookeeper with context %}
{%- from tplroot ~ "/libtofs.jinja" import files_switch with context %}
{%- set user = zookeeper.user %}

include:
  - {{ tplroot }}.install

# Data and transaction log are the server's own: nobody else reads them.
{%- for key in ['data_dir', 'datalog_dir', 'log_dir'] %}
zookeeper-config-file-{{ key | replace('_', '-') }}-file-directory:
  file.directory:
    - name: {{ zookeeper[key] }}
    - user: {{ user.name }}
    - group: {{ user.group }}
    - mode: '0750'
    - makedirs: true
    - require:
      - sls: {{ tplroot }}.install
{%- endfor %}

zookeeper-config-file-myid-file-managed:
  file.managed:
    - name: {{ zookeeper.data_dir }}/myid
    - contents: '{{ zookeeper.myid }}'
    - user: {{ user.name }}
    - group: {{ user.group }}
    - mode: '0644'
    - require:
      - file: zookeeper-config-file-data-dir-file-directory

zookeeper-config-file-config-dir-file-directory:
  file.directory:
    - name: {{ zookeeper.config_dir }}
    - user: root
    - group: {{ zookeeper.rootgroup }}
    - mode: '0755'
    - makedirs: true
    - require:
      - sls: {{ tplroot }}.install

zookeeper-config-file-zoo-cfg-file-managed:
  file.managed:
    - name: {{ zookeeper.config_dir }}/zoo.cfg
    - source: {{ files_switch(['zoo.cfg.jinja'], lookup='zookeeper-config-file-zoo-cfg-file-managed') }}
    - template: jinja
    - user: root
    - group: {{ zookeeper.rootgroup }}
    - mode: '0644'
    - context:
        zookeeper: {{ zookeeper | json }}
    - require:
      - file: zookeeper-config-file-config-dir-file-directory

zookeeper-config-file-env-file-managed:
  file.managed:
    - name: {{ zookeeper.config_dir }}/zookeeper-env
    - source: {{ files_switch(['zookeeper-env.jinja'], lookup='zookeeper-config-file-env-file-managed') }}
    - template: jinja
    - user: root
    - group: {{ zookeeper.rootgroup }}
    - mode: '0644'
    - context:
        zookeeper: {{ zookeeper | json }}
    - require:
      - file: zookeeper-config-file-config-dir-file-directory

{%- if zookeeper.install_method == 'package' and zookeeper.alternatives.get('link') %}

# Salt 3008 no longer ships an `alternatives` state; update-alternatives itself, guarded so
# that it only runs (and only reports a change) when the link is not ours yet.
zookeeper-config-file-conf-alternatives-cmd-run:
  cmd.run:
    - name: >-
        update-alternatives --install {{ zookeeper.alternatives.link }}
        {{ zookeeper.alternatives.name }} {{ zookeeper.config_dir }}
        {{ zookeeper.alternatives.priority }}
        && update-alternatives --set {{ zookeeper.alternatives.name }} {{ zookeeper.config_dir }}
    - unless: >-
        test "$(readlink -f {{ zookeeper.alternatives.link }})" = "{{ zookeeper.config_dir }}"
    - require:
      - file: zookeeper-config-file-zoo-cfg-file-managed
{%- endif %}
