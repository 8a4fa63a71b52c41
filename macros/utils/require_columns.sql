{# Stops the run with a one-line error when a stored table lacks columns this version of the project writes (it was built by an older one). #}
{% macro lakehouse_require_columns(relation, columns) %}
    {%- if not execute or lakehouse_is_unit_test() -%}
        {% do return(none) %}
    {%- endif -%}
    {%- set have = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {%- set missing = columns | map('lower') | reject('in', have) | list -%}
    {%- if missing -%}
        {% do exceptions.raise_compiler_error(
            relation ~ " has no column " ~ missing | join(', ') ~ ", which this version of the project"
            ~ " writes: rebuild it and what depends on it with `./lakehouse dbt build --full-refresh"
            ~ " --select " ~ relation.identifier ~ "+`") %}
    {%- endif -%}
{% endmacro %}
