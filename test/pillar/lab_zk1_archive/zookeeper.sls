# The archive install, fetched from the master's file server the way an air-gapped site
# would mirror Apache's release (test/standins/build_zookeeper.py builds it; its .sha512 is
# in the old `gpg --print-md` format, which the formula must parse), with its signature
# checked against the stand-in's throw-away key, pinned by the fingerprint the build wrote.
{%- set pin = opts['file_roots']['base'][0] ~ '/build/standins/KEYS.fingerprint' %}
{%- set fingerprint = salt['file.read'](pin) | trim if salt['file.file_exists'](pin) else '' %}
zookeeper:
  install_method: archive
  archive:
    version: 3.8.0
    source: salt://build/standins/apache-zookeeper-{version}-bin.tar.gz
    source_hash: salt://build/standins/apache-zookeeper-{version}-bin.tar.gz.sha512
    # Off until the stand-in is built (the pillar renders when the hosts start); the lab
    # test checks the signer recorded on the host, so an unchecked install fails it.
    signature:
      enabled: {{ fingerprint != '' }}
      keys: salt://build/standins/KEYS
      fingerprints: [{{ fingerprint | json }}]
  heap_mb: 128
