{#
    `create or replace table ... using delta tblproperties (...) as <sql>` (partitioned as the
    model says), dropping first a relation that is not Delta. The properties land in the same
    commit as the rows.
#}
{% macro lakehouse_replace_table(relation, existing, sql, properties) %}
    {%- if existing is not none and not existing.is_delta -%}
        {% do adapter.drop_relation(existing) %}
    {%- endif -%}
    create or replace table {{ relation }}
    using delta
    {{ partition_cols(label="partitioned by") }}
    tblproperties (
        {%- for key, value in properties.items() %}
        '{{ key }}' = '{{ value | replace("'", "\\'") }}'{% if not loop.last %},{% endif %}
        {%- endfor %}
    )
    as
    {{ sql }}
{% endmacro %}
