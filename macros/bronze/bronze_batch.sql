{#
    The bronze rows a staging model takes in for a batch from lakehouse_bronze_batch_limits:
    the well-formed ones committed after the version the model has read through, up to the
    batch's high, with their commit version as `_bronze_version`. Incremental runs read
    Delta's change data feed (`table_changes(table, from, to)`), which opens only the files
    those commits added, so the cost follows the batch, not the history. Versions are exact:
    no time-based look-back, nothing skipped when micro-batches of several writers commit
    out of order. First run / full refresh: the whole table as of the batch's version.
#}
{% macro lakehouse_bronze_batch(bronze_relation, batch) %}
    {%- if batch.high is none or batch.empty -%}
    select *, cast(null as bigint) as _bronze_version from {{ bronze_relation }} where false
    {%- elif batch.low is none or not batch.change_feed -%}
        {%- if batch.low is not none -%}
            {%- do log(
                bronze_relation ~ " has no change data feed: reading all of it (correct, but slow); "
                ~ "set its table property delta.enableChangeDataFeed = true while the feeder is stopped, "
                ~ "then run dbt with --full-refresh", info=true) -%}
        {%- endif %}
    select *, cast({{ batch.high }} as bigint) as _bronze_version
    from {{ bronze_relation }} version as of {{ batch.high }}
    where not is_malformed
    {%- else %}
    select {{ lakehouse_bronze_columns() | join(', ') }}, _commit_version as _bronze_version
    from table_changes('{{ bronze_relation }}', {{ batch.low + 1 }}, {{ batch.high }})
    where _change_type = 'insert' and not is_malformed
    {%- endif -%}
{%- endmacro %}


{# The columns of every bronze table, as the `bronze` source declares them. #}
{% macro lakehouse_bronze_columns() %}
    {% do return(lakehouse_bronze_sources()[0].columns.keys() | list) %}
{% endmacro %}
