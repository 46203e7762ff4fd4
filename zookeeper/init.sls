# -*- coding: utf-8 -*-
# vim: ft=sls
# The whole ZooKeeper node: install, configure, run.  The quorum check is a separate SLS
# (zookeeper.health), run by the orchestrate once every member has been applied.
include:
  - .install
  - .config
  - .service
