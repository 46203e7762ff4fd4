# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as storm with context %}

{%- if storm.java.pkgs %}
storm-java-install-pkg-installed:
  pkg.installed:
    - pkgs: {{ storm.java.pkgs | json }}
{%- endif %}

storm-java-install-home-file-exists:
  file.exists:
    - name: {{ storm.java.home }}/bin/java
{%- if storm.java.pkgs %}
    - require:
      - pkg: storm-java-install-pkg-installed
{%- endif %}

{#- The Java at java:home must be at least the Storm line's minimum: the render checked the
    pillar's java:version, this checks the java that is installed.  No change when it is. #}
{%- set probe = storm.java.home ~ "/bin/java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'" %}

storm-java-install-version-cmd-run:
  cmd.run:
    - name: >-
        v=$({{ probe }});
        echo "storm:java:home: {{ storm.java.home }}/bin/java is Java ${v:-unknown}; Storm
        {{ storm.release.line }} needs Java {{ storm.release.java }} or newer" >&2; exit 1
    - unless: v=$({{ probe }}); [ "${v%%.*}" -ge {{ storm.release.java }} ]
    - require:
      - file: storm-java-install-home-file-exists
