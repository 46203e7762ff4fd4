# -*- coding: utf-8 -*-
# vim: ft=sls
include:
  - .leader
  - .supervisors
  - .topology
