# The workers: conda from the Miniforge stand-in the tests build
# (test/standins/build_miniforge.py, served as salt://build/standins/...), with conda-forge
# mapped to the lab's package mirror the way an air-gapped site maps it to its own
# (custom_channels).  For a real installer, start the lab with MINIFORGE_SOURCE and
# MINIFORGE_SOURCE_HASH (and MINIFORGE_VERSION, CONDA_FORGE_MIRROR) in the environment.
conda:
  installer:
    version: {{ salt['environ.get']('MINIFORGE_VERSION', '24.11.3-0') }}
    source: {{ salt['environ.get']('MINIFORGE_SOURCE', 'salt://build/standins/Miniforge3-{version}-Linux-{arch}.sh') }}
    source_hash: {{ salt['environ.get']('MINIFORGE_SOURCE_HASH', 'salt://build/standins/Miniforge3-{version}-Linux-{arch}.sh.sha256') }}
  condarc:
    channels:
      - conda-forge
    channel_priority: strict
    custom_channels:
      conda-forge: {{ salt['environ.get']('CONDA_FORGE_MIRROR', 'http://10.77.0.1:3141/simple') }}

# The bundled iris model, trained in the orchestrate on the first supervisor and
# distributed to every worker through the master.
sklearn_model:
  models:
    iris:
      version: '1'
      build: {}
