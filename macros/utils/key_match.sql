{# Null-safe equality of the key columns between two aliases (a null is a value of its own). #}
{% macro lakehouse_key_match(key_columns, left, right) -%}
    {%- set keys = [key_columns] if key_columns is string else key_columns -%}
    {%- for key in keys -%}
        {{ left }}.{{ key }} <=> {{ right }}.{{ key }}{% if not loop.last %} and {% endif %}
    {%- endfor -%}
{%- endmacro %}
