{#
    One incremental strategy on top of dbt-spark's (append, merge, insert_overwrite):

    upsert      MERGE on unique_key (null-safe): update matches, insert the rest; with the
                config delete_when (a condition on the new rows, `@` standing for them), a
                matching new row deletes the stored one instead and is never inserted: how a
                superseded session or an emptied day disappears, by its known key.

    It skips the MERGE when the model has no rows (a MERGE would still read the target's
    log and commit), and with the config prune_partitions='<partition column>' restricts the
    target to the partitions the new rows name, as a list of literals, so Delta opens only
    those. (Staging de-duplicates in its own SQL and appends: dbt-spark's `append`.)
#}

{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) %}
    {%- if raw_strategy == 'upsert' -%}
        {%- if file_format != 'delta' -%}
            {% do exceptions.raise_compiler_error(
                "incremental_strategy '" ~ raw_strategy ~ "' needs file_format 'delta'") %}
        {%- endif -%}
        {% do return(raw_strategy) %}
    {%- endif -%}
    {% do return(dbt.dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format)) %}
{% endmacro %}


{% macro dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) %}
    {%- if strategy != 'upsert' -%}
        {{ dbt.dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) }}
    {%- else -%}
        {%- if not unique_key -%}
            {% do exceptions.raise_compiler_error("incremental_strategy '" ~ strategy ~ "' needs a unique_key") %}
        {%- endif -%}
        {%- set prune = lakehouse_prune_predicate(source) -%}
        {%- if prune is none -%}
            {#- no rows: nothing to merge -#}
            select 'nothing to merge' as lakehouse_skipped
        {%- else -%}
            {%- set predicates = ([] if incremental_predicates is none else [] + incremental_predicates)
                + ([] if prune == true else [prune]) -%}
            {{ lakehouse_upsert_sql(source, target, unique_key, predicates) }}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}


{#
    The MERGE's partition predicate (config prune_partitions: a partition column the model's
    rows carry): `DBT_INTERNAL_DEST.<column> in (<the rows' distinct values>)`; true when the
    model sets none; none when the model has no rows (one small query answers both).
#}
{% macro lakehouse_prune_predicate(source) %}
    {%- set column = config.get('prune_partitions') -%}
    {%- if not column -%}
        {% do return(true if run_query('select 1 from ' ~ source ~ ' limit 1').rows else none) %}
    {%- endif -%}
    {%- set dates = [] -%}
    {%- for row in run_query('select distinct cast(' ~ column ~ ' as string) from ' ~ source).rows -%}
        {%- do dates.append("date'" ~ row[0] ~ "'" if row[0] is not none else 'null') -%}
    {%- endfor -%}
    {%- if not dates -%}
        {% do return(none) %}
    {%- endif -%}
    {% do return('DBT_INTERNAL_DEST.' ~ column ~ ' in (' ~ (dates | reject('equalto', 'null') | sort | join(', ') or 'null') ~ ')'
        ~ (' or DBT_INTERNAL_DEST.' ~ column ~ ' is null' if 'null' in dates else '')) %}
{% endmacro %}


{% macro lakehouse_upsert_sql(source, target, unique_key, predicates) %}
    {%- set columns = adapter.get_columns_in_relation(target) | map(attribute='quoted') | list -%}
    {%- set delete_when = config.get('delete_when') -%}
    merge into {{ target }} as DBT_INTERNAL_DEST
    using {{ source }} as DBT_INTERNAL_SOURCE
    on {{ lakehouse_key_match(unique_key, 'DBT_INTERNAL_SOURCE', 'DBT_INTERNAL_DEST') }}
    {%- for p in predicates %} and ({{ p }}){% endfor %}
    {%- if delete_when %}
    when matched and ({{ delete_when | replace('@', 'DBT_INTERNAL_SOURCE.') }}) then delete
    {%- endif %}
    when matched then update set
        {% for c in columns %}{{ c }} = DBT_INTERNAL_SOURCE.{{ c }}{% if not loop.last %}, {% endif %}{% endfor %}
    when not matched{% if delete_when %} and not ({{ delete_when | replace('@', 'DBT_INTERNAL_SOURCE.') }}){% endif %} then insert ({{ columns | join(', ') }})
        values ({% for c in columns %}DBT_INTERNAL_SOURCE.{{ c }}{% if not loop.last %}, {% endif %}{% endfor %})
{% endmacro %}
