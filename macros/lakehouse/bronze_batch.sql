{#
    The bronze rows a staging model takes in: the well-formed ones committed to the bronze
    Delta table after the last version this model has read, with their commit version as
    `_bronze_version`. Incremental runs read Delta's change data feed
    (`table_changes(table, from, to)`), which opens only the files those commits added, so
    the cost follows the batch, not the history. Versions are exact: no time-based
    look-back, nothing skipped when micro-batches of several writers commit out of order.
    First run / full refresh: the whole table as of its current version.
#}
{% macro lakehouse_bronze_batch(bronze_relation) %}
    {%- set current = lakehouse_bronze_current_version(bronze_relation) -%}
    {%- set read = lakehouse_version_watermark('_bronze_version') -%}
    {%- set has_cdf = execute and lakehouse_has_change_feed(bronze_relation) -%}
    {%- if current is none -%}
    select *, cast(null as bigint) as _bronze_version from {{ bronze_relation }} where false
    {%- elif read is none or not has_cdf -%}
        {%- if read is not none -%}
            {%- do log(
                bronze_relation ~ " has no change data feed: reading all of it (correct, but slow); "
                ~ "set its table property delta.enableChangeDataFeed = true while the feeder is stopped, "
                ~ "then run dbt with --full-refresh", info=true) -%}
        {%- endif %}
    select *, cast({{ current }} as bigint) as _bronze_version
    from {{ bronze_relation }} version as of {{ current }}
    where not is_malformed
    {%- elif read > current -%}
        {%- do exceptions.raise_compiler_error(
            bronze_relation ~ " is at version " ~ current ~ " but " ~ this ~ " has read it up to version "
            ~ read ~ ": the bronze table was recreated; rebuild with dbt run --full-refresh") -%}
    {%- elif read == current %}
    select *, cast(null as bigint) as _bronze_version from {{ bronze_relation }} where false
    {%- else %}
    select {{ lakehouse_bronze_columns() | join(', ') }}, _commit_version as _bronze_version
    from table_changes('{{ bronze_relation }}', {{ read + 1 }}, {{ current }})
    where _change_type = 'insert' and not is_malformed
    {%- endif -%}
{%- endmacro %}


{# The columns of every bronze table, as the feeder writes them (streaming/bronze.py). #}
{% macro lakehouse_bronze_columns() %}
    {% do return([
        'raw_value', 'kafka_key', 'topic', 'kafka_partition', 'kafka_offset', 'kafka_timestamp',
        'source_file', 'is_malformed', 'malformed_reason', 'enrichment', '_ingested_at',
        'ingest_date',
    ]) %}
{% endmacro %}


{# The bronze table's latest Delta version, or none before it has any commit. #}
{% macro lakehouse_bronze_current_version(bronze_relation) %}
    {%- if not execute -%}
        {% do return(none) %}
    {%- endif -%}
    {%- set rows = run_query('describe history ' ~ bronze_relation ~ ' limit 1').rows -%}
    {% do return(rows[0]['version'] | int if rows else none) %}
{% endmacro %}


{# True when the table records a change data feed (bronze tables are created with one). #}
{% macro lakehouse_has_change_feed(relation) %}
    {%- for row in run_query('show tblproperties ' ~ relation).rows -%}
        {%- if row[0] == 'delta.enableChangeDataFeed' and row[1] | lower == 'true' -%}
            {% do return(true) %}
        {%- endif -%}
    {%- endfor -%}
    {% do return(false) %}
{% endmacro %}


{# Keep the first arrival of each `key`: re-deliveries and re-reads drop out. #}
{% macro lakehouse_first_arrival(key) -%}
    qualify row_number() over (
        partition by {{ key }}
        order by _ingested_at, source_file, kafka_partition, kafka_offset
    ) = 1
{%- endmacro %}
