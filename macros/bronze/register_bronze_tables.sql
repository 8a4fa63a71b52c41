{#
    on-run-start: register the feeder's bronze Delta paths as external tables, and create the
    bronze schema, each only when missing (looked up in dbt's relation cache: a run that
    finds them issues no DDL). Topics, columns, types and the partition column come from the
    `bronze` source declaration (models/staging/bronze/_bronze__sources.yml), the one
    definition the feeder writes by too.
#}
{% macro register_bronze_tables() %}
    {% if execute %}
        {%- set missing = [] -%}
        {% for table in lakehouse_bronze_sources() %}
            {%- if adapter.get_relation(database=none, schema=table.schema, identifier=table.name) is none -%}
                {%- do missing.append(table) -%}
            {%- endif -%}
        {% endfor %}
        {% if missing %}
            {% do run_query('create schema if not exists bronze') %}
        {% endif %}
        {% for table in missing %}
            {% set ddl %}
                create table if not exists {{ table.schema }}.{{ table.name }} (
                    {%- for column in table.columns.values() %}
                    {{ column.name }} {{ column.data_type }}{{ "," if not loop.last }}
                    {%- endfor %}
                )
                using delta
                partitioned by ({{ table.source_meta.partitioned_by }})
                location '{{ bronze_location(table.name) }}'
                -- staging reads new commits through the change data feed (lakehouse_bronze_batch)
                tblproperties (delta.enableChangeDataFeed = true)
            {% endset %}
            {% do run_query(ddl) %}
            {#- tell dbt's relation cache, filled before this hook: models look bronze up there -#}
            {% do adapter.cache_added(api.Relation.create(schema=table.schema, identifier=table.name, type='table')) %}
        {% endfor %}
    {% endif %}
{% endmacro %}


{# The tables of the `bronze` source, one per topic, as dbt's graph holds them. #}
{% macro lakehouse_bronze_sources() %}
    {% do return(graph.sources.values() | selectattr('source_name', 'equalto', 'bronze') | list) %}
{% endmacro %}
