{#
    A batch is what one model takes in on one run: the staged events whose bronze commit
    version lies in (low, high]. It travels as a dict
        {upstream, upstream_id, low, high, empty}
    written into the model's compiled SQL by lakehouse_batch_marker, where the
    materializations read it back: an empty batch on an existing table issues no statement,
    and after a write the model records exactly `high` (never re-read) as its watermark.
#}


{#
    For a staging model: the bronze commits after the version it has read through, up to
    bronze's newest. Fails clearly when bronze was recreated under it (checked by Delta id
    whenever there is something to read; a recreated table behind the mark fails at once).
#}
{% macro lakehouse_bronze_batch_limits(bronze_relation) %}
    {%- if not execute -%}
        {% do return({'low': none, 'high': none, 'empty': false, 'change_feed': false}) %}
    {%- endif -%}
    {%- set bronze = lakehouse_table_state(bronze_relation) -%}
    {%- if bronze is none -%}
        {% do exceptions.raise_compiler_error(
            bronze_relation ~ " is not registered: the on-run-start hook register_bronze_tables "
            ~ "creates it for every table of the bronze source") %}
    {%- endif -%}
    {%- set history = run_query('describe history ' ~ bronze_relation ~ ' limit 1').rows -%}
    {%- set current = history[0]['version'] | int if history else none -%}
    {%- set read = lakehouse_watermark_of(lakehouse_table_state(this)) if is_incremental() else none -%}
    {%- if read is none -%}
        {%- do lakehouse_check_rebuild_from_bronze(bronze_relation) -%}
    {%- endif -%}
    {%- if read is not none and read.version > current -%}
        {{ lakehouse_raise_recreated(bronze_relation, this.identifier) }}
    {%- endif -%}
    {%- set empty = read is not none and read.version == current -%}
    {%- set bronze_id = none if empty else lakehouse_table_id(bronze_relation) -%}
    {%- if read is not none and not empty and read.upstream_id != bronze_id -%}
        {{ lakehouse_raise_recreated(bronze_relation, this.identifier) }}
    {%- endif -%}
    {% do return({
        'upstream': bronze_relation | string,
        'upstream_id': bronze_id if bronze_id is not none else read.upstream_id,
        'low': none if read is none else read.version,
        'high': current,
        'empty': empty,
        'change_feed': bronze.properties.get('delta.enableChangeDataFeed', 'false') | lower == 'true',
    }) %}
{% endmacro %}


{#
    For a model that starts a run's chain (int_*_events_resessionized): the staged events its consumers
    (the incremental models downstream of it) have not all taken in yet: low is the lowest
    of their watermarks, high how far staging has read bronze. A consumer that does not
    exist yet builds from scratch, so it asks for nothing; with no consumer at all, or in a
    --full-refresh run (which rebuilds the consumers from their parents), the batch is empty.
    When staging has read nothing since this table was built, the batch is empty without a
    look at the consumers: one behind still finds its part in the table as it is.
#}
{% macro lakehouse_run_batch(staging) %}
    {%- if not execute or lakehouse_is_unit_test() -%}
        {% do return({'low': none, 'high': none, 'empty': false}) %}
    {%- endif -%}
    {%- set staged = lakehouse_staged_mark(staging) -%}
    {%- if staged is none -%}
        {% do exceptions.raise_compiler_error(
            this.identifier ~ " reads " ~ staging ~ ", which does not exist yet: "
            ~ "`./lakehouse dbt run --select +" ~ this.identifier ~ "`") %}
    {%- endif -%}
    {%- set held = lakehouse_held_batch(this) -%}
    {%- if held is not none and held.high == staged.version and held.upstream_id == staged.upstream_id
        and not flags.FULL_REFRESH -%}
        {% do return(dict(held, empty=true)) %}
    {%- endif -%}
    {%- set staging_id = staged.upstream_id -%}
    {%- set lows = [] -%}
    {%- if not flags.FULL_REFRESH -%}
        {%- for consumer in lakehouse_batch_consumers() -%}
            {%- set mark = lakehouse_model_mark(consumer) -%}
            {#- a mark of another staging table (recreated since): that consumer fails with the
                clear error when it runs, unless this run rebuilds it -#}
            {%- if mark is not none and mark.upstream_id == staging_id -%}
                {%- do lows.append(mark.version) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {#- no consumer to hand anything on to (none built yet, or all rebuilt by this
        --full-refresh run): an empty batch -#}
    {%- set low = (lows | min) if lows else staged.version -%}
    {% do return({
        'upstream': staged.upstream,
        'upstream_id': staging_id,
        'low': low,
        'high': staged.version,
        'empty': false,
    }) %}
{% endmacro %}


{# The incremental models downstream of this one: the consumers of the batch it starts. #}
{% macro lakehouse_batch_consumers() %}
    {%- set seen = namespace(ids=[model.unique_id]) -%}
    {%- set consumers = [] -%}
    {#- the graph is a handful of models deep: a bounded breadth-first walk -#}
    {%- for _ in range(12) -%}
        {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.unique_id not in seen.ids -%}
            {%- if node.depends_on.nodes | select('in', seen.ids) | list | length > 0 -%}
                {%- set seen.ids = seen.ids + [node.unique_id] -%}
                {%- if node.config.materialized == 'incremental' -%}
                    {%- do consumers.append(api.Relation.create(schema=node.schema, identifier=node.alias, type='table')) -%}
                {%- endif -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {% do return(consumers) %}
{% endmacro %}


{# The batch this-run table `relation` holds now, or none (not built yet). #}
{% macro lakehouse_held_batch(relation) %}
    {%- set state = lakehouse_table_state(relation) -%}
    {%- set held = none if state is none else state.properties.get('lakehouse.batch') -%}
    {% do return(none if held is none else fromjson(held)) %}
{% endmacro %}


{# The batch a this-run table was built from (its table property lakehouse.batch). #}
{% macro lakehouse_batch_of(run_table) %}
    {%- set state = lakehouse_table_state(run_table) -%}
    {%- if state is none or 'lakehouse.batch' not in state.properties -%}
        {% do exceptions.raise_compiler_error(
            run_table ~ " holds no batch yet: `./lakehouse dbt run --select +" ~ this.identifier ~ "`") %}
    {%- endif -%}
    {% do return(fromjson(state.properties['lakehouse.batch'])) %}
{% endmacro %}


{#
    For an incremental model that reads a this-run table: the part of the run's batch it has
    not taken in yet, (its watermark, the run's high]. `parent_mark` is the watermark of the
    table the model is built from (staging's for the events models, the events or sessions
    model's for those downstream): the model never moves past it, so a run that skipped the
    parent (`--select`, `--exclude`) leaves the model waiting for the parent's next run
    instead of recording a batch it saw only half of. On a full refresh the model reads
    everything and records the parent's mark.
#}
{% macro lakehouse_consumer_batch(run_table, parent_mark) %}
    {%- if not execute or lakehouse_is_unit_test() -%}
        {% do return({'low': none, 'high': none, 'empty': false}) %}
    {%- endif -%}
    {%- if parent_mark is none -%}
        {% do exceptions.raise_compiler_error(
            this.identifier ~ " is built from a model that does not exist yet: "
            ~ "`./lakehouse dbt run --select +" ~ this.identifier ~ "`") %}
    {%- endif -%}
    {%- if not is_incremental() -%}
        {% do return({
            'upstream': parent_mark.upstream,
            'upstream_id': parent_mark.upstream_id,
            'low': none,
            'high': parent_mark.version,
            'empty': false,
        }) %}
    {%- endif -%}
    {%- set run = lakehouse_batch_of(run_table) -%}
    {%- set read = lakehouse_model_mark(this) -%}
    {%- if read.upstream_id != run.upstream_id or parent_mark.upstream_id != run.upstream_id -%}
        {{ lakehouse_raise_recreated(run.upstream, this.identifier) }}
    {%- endif -%}
    {%- if read.version >= run.high -%}
        {% do return(dict(run, low=read.version, empty=true)) %}
    {%- endif -%}
    {%- if parent_mark.version < run.high -%}
        {% do log(this.identifier ~ ": waits for its parent to take in bronze versions up to "
            ~ run.high ~ " (it has " ~ parent_mark.version ~ ")", info=true) %}
        {% do return(dict(run, low=read.version, empty=true)) %}
    {%- endif -%}
    {%- if run.low is none or read.version < run.low -%}
        {% do exceptions.raise_compiler_error(
            this.identifier ~ " has taken in bronze versions up to " ~ read.version ~ " but "
            ~ run_table.identifier ~ " holds versions after " ~ run.low ~ " up to " ~ run.high
            ~ ": rebuild the run's tables first, `./lakehouse dbt run --select "
            ~ run_table.identifier ~ "+`") %}
    {%- endif -%}
    {% do return(dict(run, low=read.version, empty=false)) %}
{% endmacro %}


{#
    For an incremental model that reads staging directly (gold from game events): the staged
    events after its watermark, up to how far staging has read bronze.
#}
{% macro lakehouse_staged_batch(staging) %}
    {%- if not execute or lakehouse_is_unit_test() -%}
        {% do return({'low': none, 'high': none, 'empty': false}) %}
    {%- endif -%}
    {%- set staged = lakehouse_staged_mark(staging) -%}
    {%- set read = lakehouse_model_mark(this) if is_incremental() else none -%}
    {%- set staging_id = staged.upstream_id -%}
    {%- if read is not none and read.upstream_id != staging_id -%}
        {{ lakehouse_raise_recreated(staging, this.identifier) }}
    {%- endif -%}
    {%- if read is not none and read.version >= staged.version -%}
        {% do return(dict(staged, low=read.version, high=staged.version, empty=true)) %}
    {%- endif -%}
    {% do return({
        'upstream': staged.upstream,
        'upstream_id': staging_id,
        'low': none if read is none else read.version,
        'high': staged.version,
        'empty': false,
    }) %}
{% endmacro %}


{# The batch's where-clause on a bronze-version column: low < column <= high. #}
{% macro lakehouse_batch_filter(batch, column='_bronze_version') -%}
    {%- if batch.high is none and batch.low is none -%}
        true
    {%- elif batch.low is none -%}
        {{ column }} <= {{ batch.high }}
    {%- else -%}
        {{ column }} > {{ batch.low }} and {{ column }} <= {{ batch.high }}
    {%- endif -%}
{%- endmacro %}


{# Writes the batch into the compiled SQL, for the materialization to read back. #}
{% macro lakehouse_batch_marker(batch) -%}
    /* lakehouse.batch {{ tojson(batch) }} */
{%- endmacro %}


{# The batch a compiled model carries (see lakehouse_batch_marker), or none. #}
{% macro lakehouse_batch_in(sql) %}
    {%- set found = modules.re.search('/\\* lakehouse\\.batch (\\{.*?\\}) \\*/', sql) -%}
    {% do return(none if found is none else fromjson(found.group(1))) %}
{% endmacro %}


{#
    The table properties of an incremental table created with its first batch: the model's
    own (config tblproperties), its watermark, and a table id unique to this creation (this
    run's invocation id and the table), which readers compare to know a recreated table.
#}
{% macro lakehouse_created_properties(batch) %}
    {%- set properties = dict(config.get('tblproperties') or {}) -%}
    {%- do properties.update({
        'lakehouse.watermark': tojson({'upstream': batch.upstream, 'upstream_id': batch.upstream_id, 'version': batch.high}),
        'lakehouse.table_id': invocation_id ~ ':' ~ this,
    }) -%}
    {% do return(properties) %}
{% endmacro %}


{#
    Records a batch's high mark as the table's watermark, after the write that took it in
    (a table created with its batch has it from its creating commit: lakehouse_created_properties).
    The test var testing__fail_before_watermark (model names, comma-separated) makes those
    models die right here: what a kill between the MERGE and this commit leaves behind.
#}
{% macro lakehouse_record_watermark(relation, batch) %}
    {%- if this.identifier in (var('testing__fail_before_watermark', '') or '').split(',') -%}
        {% do exceptions.raise_compiler_error("testing__fail_before_watermark: " ~ this.identifier ~ " stops before its watermark") %}
    {%- endif -%}
    {%- if batch.high is none -%}
        {% do return(none) %}
    {%- endif -%}
    {%- set mark = {'upstream': batch.upstream, 'upstream_id': batch.upstream_id, 'version': batch.high} -%}
    {%- call statement('record_watermark') -%}
        alter table {{ relation }} set tblproperties ('lakehouse.watermark' = '{{ tojson(mark) }}')
    {%- endcall -%}
{% endmacro %}


{#
    A staging table rebuilt from bronze (--full-refresh) must not lose the events that raw
    retention (`./lakehouse maintain`) has since deleted from bronze: refused when the table
    holds events that arrived before bronze's oldest arrival date, unless the var
    retention__allow_staging_rebuild says to rebuild from what bronze still holds.
#}
{% macro lakehouse_check_rebuild_from_bronze(bronze_relation) %}
    {%- if var('retention__allow_staging_rebuild', false) or lakehouse_is_unit_test() -%}
        {% do return(none) %}
    {%- endif -%}
    {%- if adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier) is none -%}
        {% do return(none) %}
    {%- endif -%}
    {%- set oldest = run_query(
        'select cast(min(ingest_date) as string), '
        ~ '(select cast(to_date(min(_ingested_at)) as string) from ' ~ this ~ ') from '
        ~ bronze_relation).rows[0] -%}
    {%- if oldest[1] is not none and (oldest[0] is none or oldest[1] < oldest[0]) -%}
        {% do exceptions.raise_compiler_error(
            this ~ " holds events that arrived from " ~ oldest[1] ~ ", but bronze keeps only "
            ~ (("arrivals from " ~ oldest[0]) if oldest[0] is not none else "nothing")
            ~ " (raw retention, `./lakehouse maintain`): a full refresh of it would lose the "
            ~ "rest. Rebuild what is downstream of staging instead (`--full-refresh --exclude "
            ~ "path:models/staging`), or pass --vars '{retention__allow_staging_rebuild: true}' "
            ~ "to rebuild it from what bronze still holds") %}
    {%- endif -%}
{% endmacro %}
