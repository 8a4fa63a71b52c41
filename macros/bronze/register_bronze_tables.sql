{#
    on-run-start: register the feeder's bronze Delta paths as external tables, and create the
    bronze schema, each only when missing (looked up in dbt's relation cache: a run that
    finds them issues no DDL).
#}
{% macro register_bronze_tables() %}
    {% if execute %}
        {%- set missing = [] -%}
        {% for topic in var('bronze__topics') %}
            {%- if adapter.get_relation(database=none, schema='bronze', identifier=topic) is none -%}
                {%- do missing.append(topic) -%}
            {%- endif -%}
        {% endfor %}
        {% if missing %}
            {% do run_query('create schema if not exists bronze') %}
        {% endif %}
        {% for topic in missing %}
            {% set ddl %}
                create table if not exists bronze.{{ topic }} (
                    raw_value string,
                    kafka_key string,
                    topic string,
                    kafka_partition int,
                    kafka_offset bigint,
                    kafka_timestamp timestamp,
                    source_file string,
                    is_malformed boolean,
                    malformed_reason string,
                    enrichment string,
                    _ingested_at timestamp,
                    ingest_date date
                )
                using delta
                partitioned by (ingest_date)
                location '{{ bronze_location(topic) }}'
                -- staging reads new commits through the change data feed (lakehouse_bronze_batch)
                tblproperties (delta.enableChangeDataFeed = true)
            {% endset %}
            {% do run_query(ddl) %}
            {#- tell dbt's relation cache, filled before this hook: models look bronze up there -#}
            {% do adapter.cache_added(api.Relation.create(schema='bronze', identifier=topic, type='table')) %}
        {% endfor %}
    {% endif %}
{% endmacro %}
