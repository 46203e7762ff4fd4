# -*- coding: utf-8 -*-
# vim: ft=sls
# A Storm host: install, configure, and run the daemons of its roles (nimbus + ui on nimbus
# hosts, supervisor + logviewer on supervisor hosts).  The health waits are separate SLS
# files (storm.health.*), run by the orchestrate.
include:
  - .install
  - .config
  - .service
