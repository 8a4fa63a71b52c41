{# Where the feeder writes a topic's bronze Delta table: BRONZE_PATH, else LAKEHOUSE_DIR/bronze. #}
{% macro bronze_location(topic) -%}
    {%- set root = env_var('LAKEHOUSE_ROOT', env_var('PWD', '.')) -%}
    {%- set lakehouse = env_var('LAKEHOUSE_DIR', root ~ '/.lakehouse') -%}
    {{- env_var('BRONZE_PATH', lakehouse ~ '/bronze') ~ '/' ~ topic -}}
{%- endmacro %}
