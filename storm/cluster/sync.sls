# -*- coding: utf-8 -*-
# vim: ft=sls
# First step of the orchestrate on every cluster host: bring the package's custom modules
# (membership, health checks) to the minion, and in mine discovery keep the host's record
# in the mine current.  Both report a change only when something really changed.
cluster-sync-modules-saltutil-sync_all:
  saltutil.sync_all:
    - refresh: true

{%- if salt['pillar.get']('cluster:discovery', 'pillar') == 'mine' %}

cluster-sync-mine-clustermap-published:
  clustermap.published:
    - function: {{ salt['pillar.get']('cluster:mine:function', 'clustermap.node') }}
    - require:
      - saltutil: cluster-sync-modules-saltutil-sync_all
{%- endif %}
