{#
    A Delta table's table properties, or none when the table does not exist.
    Returns {'properties': dict}. `show tblproperties` reads only the log's metadata (about
    0.05 s a table here); `describe detail` also counts the table's files, which replays
    the whole log (about 1 s a table), so the Delta id (lakehouse_table_id) is read only
    when a batch has work.
#}
{% macro lakehouse_table_state(relation) %}
    {%- if not execute or lakehouse_is_unit_test() -%}
        {% do return(none) %}
    {%- endif -%}
    {%- if adapter.get_relation(database=relation.database, schema=relation.schema, identifier=relation.identifier) is none -%}
        {% do return(none) %}
    {%- endif -%}
    {%- set properties = {} -%}
    {%- for row in run_query('show tblproperties ' ~ relation).rows -%}
        {%- do properties.update({row[0]: row[1]}) -%}
    {%- endfor -%}
    {% do return({'properties': properties}) %}
{% endmacro %}


{# A Delta table's id (it changes when the table is recreated): `describe detail`, about 1 s. #}
{% macro lakehouse_table_id(relation) %}
    {% do return(run_query('describe detail ' ~ relation).rows[0]['id']) %}
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
    {upstream: the staging model, upstream_id: its table id, version: the bronze version it
    has read through}. Staging rows carry that version as `_bronze_version`. The table id is
    the one recorded in the commit that created it (lakehouse.table_id, new with any
    recreation), so no log replay is needed to know it. None before staging exists.
#}
{% macro lakehouse_staged_mark(staging) %}
    {%- set state = lakehouse_table_state(staging) -%}
    {%- if state is none -%}
        {% do return(none) %}
    {%- endif -%}
    {%- set mark = lakehouse_watermark_of(state) -%}
    {%- if mark is none or 'lakehouse.table_id' not in state.properties -%}
        {% do exceptions.raise_compiler_error(
            staging ~ " has no watermark (built by an older release, or its first build was "
            ~ "interrupted): rebuild it with `./lakehouse dbt run --full-refresh --select "
            ~ staging.identifier ~ "+`") %}
    {%- endif -%}
    {% do return({
        'upstream': staging | string,
        'upstream_id': state.properties['lakehouse.table_id'],
        'version': mark.version,
    }) %}
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


{#
    A table's watermark version when its contents are exactly the state that mark names:
    its last commit is the watermark write that follows every MERGE. None when a run died
    between a MERGE and its watermark (the table is ahead of its mark), or another commit
    (maintenance) came after: readers then take the path that does not rely on it.
#}
{% macro lakehouse_settled_mark(relation) %}
    {%- set mark = lakehouse_model_mark(relation) -%}
    {%- if mark is none -%}
        {% do return(none) %}
    {%- endif -%}
    {%- set last = run_query('describe history ' ~ relation ~ ' limit 1').rows[0] -%}
    {% do return(mark.version if last['operation'] == 'SET TBLPROPERTIES' else none) %}
{% endmacro %}
