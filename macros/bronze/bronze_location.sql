{# Where the feeder writes a topic's bronze Delta table: BRONZE_PATH, else LAKEHOUSE_DIR/bronze. #}
{% macro bronze_location(topic) -%}
    {{- env_var('BRONZE_PATH', env_var('LAKEHOUSE_DIR') ~ '/bronze') ~ '/' ~ topic -}}
{%- endmacro %}
