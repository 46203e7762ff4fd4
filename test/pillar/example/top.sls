# pillar.example itself (linked as example.sls), exactly as shipped: rendering never
# fetches a checksum, so its .sha512 URLs need no network here.
base:
  '*':
    - example
