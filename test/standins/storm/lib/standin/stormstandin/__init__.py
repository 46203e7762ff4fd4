"""A stand-in for Apache Storm 2.8.8's daemons, written in Python (test equipment).

Not Apache Storm: it implements Storm's external interfaces (storm.yaml, ZooKeeper znode
paths, the Nimbus Thrift API, the UI REST API, the multilang protocol) so that a Salt
formula can install, configure and run it as it would run real Storm where Apache's
downloads cannot be reached.  See STANDIN.txt at the top of the distribution.
"""

import pathlib

VERSION = "2.8.8"
PACKAGE_DIR = pathlib.Path(__file__).resolve().parent
NOTICE = ("This is a stand-in for Apache Storm (test equipment of the storm-sklearn formulas), "
          "not an Apache release: see STANDIN.txt")
