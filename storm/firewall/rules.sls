# -*- coding: utf-8 -*-
# vim: ft=sls
# The table (config_dir/firewall.nft) and the oneshot unit that loads it.  A changed table
# is reloaded in one nft transaction: no moment with Storm's ports open or all shut.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as storm with context %}
{%- from tplroot ~ "/libtofs.jinja" import files_switch with context %}
{%- if storm.firewall.enabled %}

include:
  - .package
  - {{ tplroot }}.config

storm-firewall-rules-nft-file-managed:
  file.managed:
    - name: {{ storm.config_dir }}/firewall.nft
    - source: {{ files_switch(['firewall.nft.jinja'], lookup='storm-firewall-rules-nft-file-managed') }}
    - template: jinja
    - user: root
    - group: {{ storm.rootgroup }}
    - mode: '0644'
    - check_cmd: {{ storm.firewall.nft }} --check -f
    - context:
        storm: {{ storm | json }}
    - require:
      - pkg: storm-firewall-package-pkg-installed
      - sls: {{ tplroot }}.config

storm-firewall-rules-unit-file-managed:
  file.managed:
    - name: /etc/systemd/system/storm-firewall.service
    - source: {{ files_switch(['storm-firewall.service.jinja'], lookup='storm-firewall-rules-unit-file-managed') }}
    - template: jinja
    - user: root
    - group: {{ storm.rootgroup }}
    - mode: '0644'
    - context:
        storm: {{ storm | json }}

storm-firewall-rules-unit-module-run:
  module.run:
    - service.systemctl_reload: []
    - onchanges:
      - file: storm-firewall-rules-unit-file-managed

storm-firewall-rules-service-running:
  service.running:
    - name: storm-firewall
    - enable: true
    - reload: true
    - watch:
      - file: storm-firewall-rules-nft-file-managed
      - file: storm-firewall-rules-unit-file-managed
      - module: storm-firewall-rules-unit-module-run
{%- else %}

storm-firewall-rules-service-dead:
  service.dead:
    - name: storm-firewall
    - enable: false
{%- endif %}
