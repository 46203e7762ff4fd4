# The two commands a newcomer needs (as root on Debian 12):
#   make demo   set everything up, boot the lab cluster, run the real orchestrate
#   make test   set everything up, lint, and run the whole test suite (lab included)
# Helpers: make down (stop the lab), make lint, make unit (no lab).

VENV      ?= /opt/storm-sklearn-lab/venv
PY        := $(VENV)/bin/python
export LAB_VENV := $(VENV)
LAB       := PYTHONPATH=test $(PY) -m lab
TOPOLOGY  ?= test/lab_topologies/cluster6.yaml
SLS_FILES := $(shell find . -name '*.sls' -not -path './build/*' -not -path './test/render/templates/*')

.PHONY: setup demo down lint unit test spm bench

setup:
	@bash test/bootstrap.sh

demo: setup
	@bash test/demo.sh $(TOPOLOGY)

# Every benchmark (bench/README.md); needs the lab and the machine to itself.  The first
# command builds the workers' Python the bolt benches run in, if it is missing.
bench: setup
	@$(PY) -m pytest -q -p no:cacheprovider test/unit/test_iris_topology.py \
	    -k test_topology_definition_and_overrides
	@PYTHONWARNINGS=ignore::ResourceWarning $(PY) bench/run.py --readme

# SPM packages, one per formula plus the shared modules, in build/spm/packages.
spm: setup
	@$(PY) tools/build_spm.py

down: setup
	@$(LAB) down

lint: setup
	@echo "[lint] yamllint";  $(VENV)/bin/yamllint -s .
	@echo "[lint] salt-lint"; $(VENV)/bin/salt-lint $(SLS_FILES) pillar.example
	@echo "[lint] ruff";      $(VENV)/bin/ruff check .

unit: setup
	@bash test/run-pytest.sh offline -m "not lab" test

# One pytest session per lab topology: a session brings its lab up and always down.
test: lint
	@bash test/run-pytest.sh offline -m "not lab" test
	@bash test/run-pytest.sh lab-zk3 test/integration/test_lab_zookeeper.py
	@bash test/run-pytest.sh lab-zk1-archive test/integration/test_lab_zookeeper_archive.py
	@bash test/run-pytest.sh lab-cluster6 test/integration/test_lab_workers.py \
	    test/integration/test_lab_topology.py test/integration/test_lab_security.py \
	    test/integration/test_lab_model_trust.py \
	    test/integration/test_lab_drills.py test/integration/test_lab_storm.py
