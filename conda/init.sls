# -*- coding: utf-8 -*-
# vim: ft=sls
# conda on a host: the Miniforge installation, its .condarc, and the environments.
include:
  - .installer
  - .config
  - .environments
