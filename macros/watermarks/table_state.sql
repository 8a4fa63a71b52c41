{#
    A Delta table's identity and table properties, read from its log by `describe detail`
    (no data file is opened), or none when the table does not exist.
    Returns {'id': Delta table id, 'properties': dict}.
#}
{% macro lakehouse_table_state(relation) %}
    {%- if not execute or lakehouse_is_unit_test() -%}
        {% do return(none) %}
    {%- endif -%}
    {%- if adapter.get_relation(database=relation.database, schema=relation.schema, identifier=relation.identifier) is none -%}
        {% do return(none) %}
    {%- endif -%}
    {%- set row = run_query('describe detail ' ~ relation).rows[0] -%}
    {% do return({'id': row['id'], 'properties': fromjson(row['properties'] or '{}')}) %}
{% endmacro %}


{#
    The watermark a table recorded after its last write: {upstream, upstream_id, version},
    where version is the newest bronze commit version whose events it has taken in, and
    upstream_id the Delta id of the table it read them from. None when it has none.
#}
{% macro lakehouse_watermark_of(state) %}
    {%- if state is none or 'lakehouse.watermark' not in state.properties -%}
        {% do return(none) %}
    {%- endif -%}
    {% do return(fromjson(state.properties['lakehouse.watermark'])) %}
{% endmacro %}


{#
    How far a staging model has read bronze, as a mark its consumers can compare with:
    {upstream: the staging model, upstream_id: its Delta id, version: the bronze version it
    has read through}. Staging rows carry that version as `_bronze_version`.
#}
{% macro lakehouse_staged_mark(staging) %}
    {%- set state = lakehouse_table_state(staging) -%}
    {%- if state is none -%}
        {% do return(none) %}
    {%- endif -%}
    {%- set mark = lakehouse_watermark_of(state) -%}
    {%- if mark is none -%}
        {% do exceptions.raise_compiler_error(
            staging ~ " has no watermark (built by an older release, or its first build was "
            ~ "interrupted): rebuild it with `./lakehouse dbt run --full-refresh --select "
            ~ staging.identifier ~ "+`") %}
    {%- endif -%}
    {% do return({'upstream': staging | string, 'upstream_id': state.id, 'version': mark.version}) %}
{% endmacro %}


{# The watermark of a consumer model's table (for a full refresh of the model built from it). #}
{% macro lakehouse_model_mark(relation) %}
    {%- set state = lakehouse_table_state(relation) -%}
    {%- set mark = lakehouse_watermark_of(state) -%}
    {%- if state is not none and mark is none -%}
        {% do exceptions.raise_compiler_error(
            relation ~ " has no watermark (built by an older release, or its first build was "
            ~ "interrupted): rebuild it with `./lakehouse dbt run --full-refresh --select "
            ~ relation.identifier ~ "+`") %}
    {%- endif -%}
    {% do return(mark) %}
{% endmacro %}


{# The recreated-upstream error: the versions a model recorded belong to a table that is gone. #}
{% macro lakehouse_raise_recreated(upstream, reader) %}
    {% do exceptions.raise_compiler_error(
        upstream ~ " was recreated after " ~ reader ~ " last read it (its Delta table id changed), "
        ~ "so the versions " ~ reader ~ " recorded no longer exist there: rebuild everything "
        ~ "downstream of it with `./lakehouse dbt run --full-refresh --select " ~ reader ~ "+`") %}
{% endmacro %}
