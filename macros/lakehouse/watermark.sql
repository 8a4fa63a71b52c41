{#
    The highest value of an integer `column` in the model's own table (e.g. the bronze
    version staging has read through), or none before the first run / on a full refresh.
    Read once per run with run_query so the number lands in the SQL as a literal.
#}
{% macro lakehouse_version_watermark(column) %}
    {%- if not execute or not is_incremental() -%}
        {% do return(none) %}
    {%- endif -%}
    {%- set value = run_query('select max(' ~ column ~ ') from ' ~ this).columns[0].values()[0] -%}
    {% do return(none if value is none else value | int) %}
{% endmacro %}
