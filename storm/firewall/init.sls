# -*- coding: utf-8 -*-
# vim: ft=sls
# Storm's ports for the cluster's hosts only (storm:firewall): the nft package, then the
# formula's own nftables table, loaded before the daemons start.
include:
  - .package
  - .rules
