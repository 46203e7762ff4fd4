#!/usr/bin/env bash
#
# storm-env.sh of the Storm stand-in.  As Apache's bin/storm does, the stand-in's bin/storm
# sources $STORM_CONF_DIR/storm-env.sh (this file by default) and takes the variables it
# exports: STORM_LOG_DIR moves the logs.  JAVA_HOME and the JVM options are accepted and
# ignored: the stand-in has no JVM.

# export JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
# export STORM_LOG_DIR=/var/log/storm
