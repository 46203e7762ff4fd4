# -*- coding: utf-8 -*-
# vim: ft=sls
# Undo the formula in reverse order: stop and remove the daemons, the config, the install.
# storm.local.dir, the logs, the cluster's znodes (nimbus hosts) and the user stay unless
# storm:clean:remove_state is true.  Clean supervisors before nimbus.
{%- set tplroot = tpldir.split('/')[0] %}

include:
  - .service.clean
  - .firewall.clean
  - .config.clean
  - .archive.clean
  - .user.clean
