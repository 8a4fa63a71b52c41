{#
    The bronze rows a staging model takes in: the well-formed ones that landed after the
    model's own `_ingested_at` watermark, less `staging__lookback_minutes` so a micro-batch
    that committed late is not skipped (the insert-only MERGE ignores what it re-reads).
    The arrival-date partition bound is a literal, so Delta prunes the old partitions.
#}
{% macro lakehouse_bronze_batch(bronze_relation) %}
    {%- set watermark = lakehouse_watermark('_ingested_at') -%}
    {%- set lookback = 'interval ' ~ var('staging__lookback_minutes') ~ ' minutes' -%}
    select * from {{ bronze_relation }}
    where not is_malformed
    {%- if watermark is not none %}
        and _ingested_at > {{ watermark }} - {{ lookback }}
        and ingest_date >= to_date({{ watermark }} - {{ lookback }})
    {%- endif %}
{%- endmacro %}


{# Keep the first arrival of each `key`: re-deliveries and re-reads drop out. #}
{% macro lakehouse_first_arrival(key) -%}
    qualify row_number() over (
        partition by {{ key }}
        order by _ingested_at, source_file, kafka_partition, kafka_offset
    ) = 1
{%- endmacro %}
