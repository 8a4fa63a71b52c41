{#
    dbt-spark's table materialization for Delta, rebuilt only when an input changed: the
    table records where its inputs were and its own SQL's checksum (table property
    lakehouse.inputs, see lakehouse_input_versions); when all are the same the run issues no
    write and no commit.
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


{#
    What every model, seed and source this model reads is at now, and its SQL's checksum:
    an input that records a watermark (table properties, about 0.05 s) is known by it and its
    table id, since every write to it is followed by a new watermark and a rebuild gives it a
    new id; a table mart by its own inputs; any other by its Delta version (`describe
    history ... limit 1`, about 0.3 s).
#}
{% macro lakehouse_input_versions() %}
    {%- set versions = {'sql': model.checksum.checksum} -%}
    {%- for unique_id in model.depends_on.nodes -%}
        {%- set node = graph.nodes.get(unique_id) or graph.sources.get(unique_id) -%}
        {%- set relation = api.Relation.create(schema=node.schema, identifier=node.alias or node.identifier) -%}
        {%- set properties = lakehouse_table_state(relation).properties -%}
        {%- set recorded = properties.get('lakehouse.watermark') or properties.get('lakehouse.inputs') -%}
        {%- if recorded is not none -%}
            {#- as a dict (a JSON string inside JSON would be escaped, and a SQL literal unescapes
                it), with the table's own id: a full refresh can keep the watermark -#}
            {%- set recorded = {'mark': fromjson(recorded), 'table_id': properties.get('lakehouse.table_id')} -%}
        {%- else -%}
            {%- set history = run_query('describe history ' ~ relation ~ ' limit 1').rows -%}
            {%- set recorded = history[0]['version'] | int if history else none -%}
        {%- endif -%}
        {%- do versions.update({relation | string: recorded}) -%}
    {%- endfor -%}
    {% do return(versions) %}
{% endmacro %}
