# -*- coding: utf-8 -*-
# vim: ft=sls
# Undo the formula in reverse order: stop and remove the service, the config, the install;
# data and the user stay unless zookeeper:clean:remove_data is true.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as zookeeper with context %}

include:
  - .service.clean
  - .config.clean
  - .{{ zookeeper.install_method }}.clean
  - .user.clean
