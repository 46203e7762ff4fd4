# -*- coding: utf-8 -*-
# vim: ft=sls
# Remove the environments, the .condarc, and with conda:clean:remove_install the whole
# installation.
include:
  - .environments.clean
  - .config.clean
  - .installer.clean
