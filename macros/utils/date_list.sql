{#
    The distinct dates a small query returns, as a comma-separated list of date literals for
    an `in (...)` predicate that Delta prunes partitions with; `date'1900-01-01'` (no
    partition) when it returns none. A list, not a min..max range: one old late event must
    not widen the scan to every partition in between.
#}
{% macro lakehouse_date_list(sql) %}
    {%- if not execute or lakehouse_is_unit_test() -%}
        {#- fixtures are CTEs run_query cannot see: the predicate must hold for any date -#}
        {% do return(none) %}
    {%- endif -%}
    {%- set days = [] -%}
    {%- for row in run_query('select distinct cast(d as string) from (' ~ sql ~ ') as days(d) where d is not null').rows -%}
        {%- do days.append("date'" ~ row[0] ~ "'") -%}
    {%- endfor -%}
    {% do return((days | sort | join(', ')) if days else "date'1900-01-01'") %}
{% endmacro %}


{# `column in (dates)` for a list from lakehouse_date_list; true when there is no list (unit tests). #}
{% macro lakehouse_in_dates(column, dates) -%}
    {%- if dates is none -%}
        true
    {%- else -%}
        {{ column }} in ({{ dates }})
    {%- endif -%}
{%- endmacro %}


{# True while dbt compiles a model for one of its unit tests (inputs are fixture CTEs). #}
{% macro lakehouse_is_unit_test() -%}
    {{ return(model is mapping and model.get('resource_type') == 'unit_test') }}
{%- endmacro %}
