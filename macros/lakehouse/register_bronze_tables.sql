{# on-run-start: create the medallion schemas and register the feeder's bronze Delta paths as external tables. #}
{% macro register_bronze_tables() %}
    {% if execute %}
        {% for schema in ['bronze', 'silver', 'gold'] %}
            {% do run_query('create schema if not exists ' ~ schema) %}
        {% endfor %}
        {% for topic in var('bronze__topics') %}
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
        {% endfor %}
    {% endif %}
{% endmacro %}
