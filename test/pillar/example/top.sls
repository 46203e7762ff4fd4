# pillar.example itself (linked as example.sls), with the download checksum pinned so
# rendering needs no network.
base:
  '*':
    - example
    - offline
