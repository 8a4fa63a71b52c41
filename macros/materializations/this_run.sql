{#
    A this-run table (in the manner of Snowplow's *_this_run models): what one run touches,
    computed once and replaced whole each run, so that the models downstream read it instead
    of re-deriving it. The batch it was built from (lakehouse_batch_marker in its SQL) is
    stored beside it, in the table property lakehouse.batch, in the same commit. An empty
    batch (nothing new since it was last built) issues no statement: the table keeps the
    batch its readers have already taken in.
#}
{% materialization this_run, adapter='spark', supported_languages=['sql'] -%}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set existing_relation = load_relation(this) -%}
    {%- set batch = lakehouse_batch_in(compiled_code) -%}
    {%- if batch is none -%}
        {% do exceptions.raise_compiler_error(this.identifier ~ ": a this_run model must call lakehouse_batch_marker") %}
    {%- endif -%}

    {%- if existing_relation is not none and batch.empty and not should_full_refresh() -%}
        {%- call noop_statement('main', 'SKIP (nothing new)') -%}{%- endcall -%}
    {%- else -%}
        {%- call statement('main') -%}
            {{ lakehouse_replace_table(target_relation, existing_relation, compiled_code, {'lakehouse.batch': tojson(batch)}) }}
        {%- endcall -%}
    {%- endif -%}

    {{ return({'relations': [target_relation]}) }}
{%- endmaterialization %}
