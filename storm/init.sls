# -*- coding: utf-8 -*-
# vim: ft=sls
# A Storm host: install, configure, shut Storm's ports to all but the cluster (firewall),
# and run the daemons of its roles (nimbus + ui on nimbus hosts, supervisor + logviewer on
# supervisor hosts) and, on supervisors, the directories the topologies write to.  The health waits (storm.health.*) and the submission
# (storm.topology.submit) are separate SLS files, run by the orchestrate.
include:
  - .install
  - .config
  - .firewall
  - .service
  - .topology.dirs
