{#
    dbt-spark's view materialization, replaced only when its SQL changed: the view records a
    checksum of its compiled SQL (table property lakehouse.sql); when it is the same, a run
    issues no DDL (the metastore write of `create or replace view` costs over a second here).
#}
{% materialization view, adapter='spark', supported_languages=['sql'] -%}
    {%- set target_relation = this.incorporate(type='view') -%}
    {%- set existing_relation = load_relation(this) -%}
    {%- set checksum = local_md5(compiled_code) -%}
    {%- set held = none -%}
    {%- if existing_relation is not none and existing_relation.is_view and not should_full_refresh() -%}
        {%- set held = lakehouse_table_state(target_relation).properties.get('lakehouse.sql') -%}
    {%- endif -%}

    {{ run_hooks(pre_hooks) }}
    {%- if held == checksum -%}
        {%- call noop_statement('main', 'SKIP (SQL unchanged)') -%}{%- endcall -%}
    {%- else -%}
        {%- if existing_relation is not none and not existing_relation.is_view -%}
            {% do adapter.drop_relation(existing_relation) %}
        {%- endif -%}
        {%- call statement('main') -%}
            create or replace view {{ target_relation }}
            tblproperties ('lakehouse.sql' = '{{ checksum }}')
            as
            {{ compiled_code }}
        {%- endcall -%}
    {%- endif -%}
    {% do persist_docs(target_relation, model) %}
    {{ run_hooks(post_hooks) }}
    {{ return({'relations': [target_relation]}) }}
{%- endmaterialization %}
