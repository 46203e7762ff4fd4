"""Shared by all tests: the lab's pytest plugin (fixtures `lab`, `lab_host`)."""

pytest_plugins = ["lab.pytest_plugin"]
