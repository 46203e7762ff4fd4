# -*- coding: utf-8 -*-
# vim: ft=sls
# Every model of pillar sklearn_model:models on this host, verified before it is switched in.
include:
  - .deploy
