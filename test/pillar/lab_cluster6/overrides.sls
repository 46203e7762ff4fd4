{#- Drills change pillar the way an operator edits it, then run the real orchestrate: a
    JSON document in the lab's state directory (written and removed by
    test/integration/drills.py), merged over everything above.  Absent: no change. #}
{%- set path = opts['root_dir'] ~ '/pillar-overrides.json' %}
{%- if salt['file.file_exists'](path) %}
{{ salt['file.read'](path) }}
{%- endif %}
