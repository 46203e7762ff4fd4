# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as storm with context %}
{%- set archive = storm.archive %}

include:
  - {{ tplroot }}.java.install
  - {{ tplroot }}.user.present

# The release's checksum, fetched once (from its .sha512 URL, either of Apache's formats)
# or written from the pin, after the release's signature verified when that is on; a
# fetch or a check that fails stops here, before anything is replaced.
storm-archive-install-checksum-apache_dist-checksum_file:
  apache_dist.checksum_file:
    - name: {{ archive.hash_file }}
    - source: {{ archive.source }}
    - source_hash: {{ archive.source_hash }}
    - key: storm:archive:source_hash
    - signature: {{ archive.signature | json }}

# Each version unpacks into its own root-owned directory and `current` switches between
# them, so an upgrade never rewrites the files a running daemon uses.
storm-archive-install-archive-extracted:
  archive.extracted:
    - name: {{ archive.install_dir }}
    - source: {{ archive.source }}
    - source_hash: file://{{ archive.hash_file }}
    # RELEASE: in Apache's tarball and in one assembled from the release jars alike.
    - if_missing: {{ archive.home }}/RELEASE
    - enforce_toplevel: true
    - user: root
    - group: {{ storm.rootgroup }}
    - require:
      - sls: {{ tplroot }}.java.install
      - sls: {{ tplroot }}.user.present
      - apache_dist: storm-archive-install-checksum-apache_dist-checksum_file

storm-archive-install-current-file-symlink:
  file.symlink:
    - name: {{ archive.current }}
    - target: {{ archive.home }}
    - force: true
    - require:
      - archive: storm-archive-install-archive-extracted
