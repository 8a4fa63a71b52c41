{#
    dbt-spark's table materialization for Delta, rebuilt only when an input changed: the
    table records its inputs' Delta versions and its own SQL's checksum (table property
    lakehouse.inputs); when all are the same the run issues no write and no commit.
    `describe history ... limit 1` reads only the log's last commit.
#}
{% materialization table, adapter='spark', supported_languages=['sql'] -%}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set existing_relation = load_relation(this) -%}
    {%- set inputs = lakehouse_input_versions() -%}

    {{ run_hooks(pre_hooks) }}

    {%- set held = none -%}
    {%- if existing_relation is not none and existing_relation.is_delta and not should_full_refresh() -%}
        {%- set state = lakehouse_table_state(target_relation) -%}
        {%- set held = none if state is none else state.properties.get('lakehouse.inputs') -%}
    {%- endif -%}

    {%- if held is not none and fromjson(held) == inputs -%}
        {%- call noop_statement('main', 'SKIP (inputs unchanged)') -%}{%- endcall -%}
    {%- else -%}
        {%- call statement('main') -%}
            {{ lakehouse_replace_table(target_relation, existing_relation, compiled_code, {'lakehouse.inputs': tojson(inputs)}) }}
        {%- endcall -%}
    {%- endif -%}

    {% do persist_docs(target_relation, model) %}
    {{ run_hooks(post_hooks) }}
    {{ return({'relations': [target_relation]}) }}
{%- endmaterialization %}


{# {relation: Delta version} of every model, seed and source this model reads, and its SQL's checksum. #}
{% macro lakehouse_input_versions() %}
    {%- set versions = {'sql': model.checksum.checksum} -%}
    {%- for unique_id in model.depends_on.nodes -%}
        {%- set node = graph.nodes.get(unique_id) or graph.sources.get(unique_id) -%}
        {%- set relation = api.Relation.create(schema=node.schema, identifier=node.alias or node.identifier) -%}
        {%- set history = run_query('describe history ' ~ relation ~ ' limit 1').rows -%}
        {%- do versions.update({relation | string: history[0]['version'] | int if history else none}) -%}
    {%- endfor -%}
    {% do return(versions) %}
{% endmacro %}
