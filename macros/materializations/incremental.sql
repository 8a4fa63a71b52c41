{#
    dbt-spark's incremental materialization, with this project's watermarks:
    - the model's batch (lakehouse_batch_marker in its SQL) decides whether there is work:
      an empty batch on an existing table issues no statement and commits nothing;
    - after the write, the table records the batch's high mark as its watermark
      (lakehouse_record_watermark), the one read when the model compiled. A run killed
      between the two is redone from the old mark; the writes are idempotent. A table
      created (first build, full refresh) gets its watermark and id in the creating commit.
    - no post-hook: the temporary view is dropped here (a view left behind in a long-lived
      Spark session would re-resolve a stale batch in a later run).
#}
{% materialization incremental, adapter='spark', supported_languages=['sql'] -%}
    {%- set file_format = dbt_spark_validate_get_file_format(config.get('file_format', default='delta')) -%}
    {%- set strategy = dbt_spark_validate_get_incremental_strategy(config.get('incremental_strategy') or 'append', file_format) -%}
    {%- set unique_key = config.get('unique_key', none) -%}
    {%- set incremental_predicates = config.get('incremental_predicates', none) -%}
    {%- set on_schema_change = incremental_validate_on_schema_change(config.get('on_schema_change'), default='ignore') -%}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set existing_relation = load_relation(this) -%}
    {%- set tmp_relation = this.incorporate(path={'identifier': this.identifier ~ '__dbt_tmp'}).include(database=false, schema=false) -%}
    {%- set batch = lakehouse_batch_in(compiled_code) -%}

    {{ run_hooks(pre_hooks) }}

    {%- if existing_relation is none or existing_relation.is_view or should_full_refresh() -%}
        {%- if existing_relation is not none and not existing_relation.is_delta -%}
            {% do adapter.drop_relation(existing_relation) %}
        {%- endif -%}
        {%- call statement('main') -%}
            {%- if batch is not none and batch.high is not none -%}
            {#- the watermark and the table's id in the commit that creates it: a run killed
                during a first build leaves no table without them -#}
            {{ lakehouse_replace_table(target_relation, existing_relation, compiled_code, lakehouse_created_properties(batch)) }}
            {%- else -%}
            {{ create_table_as(False, target_relation, compiled_code) }}
            {%- endif -%}
        {%- endcall -%}
    {%- elif batch is not none and batch.empty -%}
        {% do log(this.identifier ~ ": no new batch, nothing to do", info=false) %}
        {%- call noop_statement('main', 'SKIP (nothing new)') -%}{%- endcall -%}
    {%- else -%}
        {%- call statement('create_tmp_relation') -%}
            {{ create_table_as(True, tmp_relation, compiled_code) }}
        {%- endcall -%}
        {%- do process_schema_changes(on_schema_change, tmp_relation, existing_relation) -%}
        {%- call statement('main') -%}
            {{ dbt_spark_get_incremental_sql(strategy, tmp_relation, target_relation, existing_relation, unique_key, incremental_predicates) }}
        {%- endcall -%}
        {%- call statement('drop_tmp_relation') -%}
            drop view if exists {{ tmp_relation }}
        {%- endcall -%}
        {%- if batch is not none -%}
            {% do lakehouse_record_watermark(target_relation, batch) %}
        {%- endif -%}
    {%- endif -%}

    {% do persist_docs(target_relation, model) %}
    {{ run_hooks(post_hooks) }}
    {{ return({'relations': [target_relation]}) }}
{%- endmaterialization %}
