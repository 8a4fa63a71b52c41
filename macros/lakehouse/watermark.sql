{#
    The highest value of `column` in the model's own table, as a SQL literal, or none before
    the first run / on a full refresh. Read once per run with run_query so the literal lands
    in the SQL and Spark can prune Delta partitions statically.
#}
{% macro lakehouse_watermark(column) %}
    {%- if not execute or not is_incremental() -%}
        {% do return(none) %}
    {%- endif -%}
    {%- set result = run_query('select cast(max(' ~ column ~ ') as string) from ' ~ this) -%}
    {%- set value = result.columns[0].values()[0] -%}
    {% do return(none if value is none else "timestamp'" ~ value ~ "'") %}
{% endmacro %}
