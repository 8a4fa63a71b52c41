{#
    on-run-end: one row per model of this run in silver.run_audit (created when missing),
    unless nothing had anything to do: no model failed, no staging watermark moved and no
    sessions chain ran (such a run commits nothing anywhere, and the audit keeps that).

    Every model: its status and duration (dbt's results). Staging models: the events staged
    since the last audited bronze version (watermark before and after), how late they
    arrived, and how many were quarantined, by reason. Session models, when their chain ran
    this run: the sessions created, extended, merged, split and deleted, from the this-run
    table of re-sessionized events (each event's session before and after), and the runaway
    sessions among them. Written in one INSERT: one commit per run.
#}
{% macro lakehouse_write_run_audit(results) %}
    {%- if not execute or flags.WHICH not in ('run', 'build') -%}
        {% do return('') %}
    {%- endif -%}
    {%- set audit = api.Relation.create(schema='silver', identifier='run_audit', type='table') -%}
    {%- if adapter.get_relation(database=none, schema='silver', identifier='run_audit') is none -%}
        {% do run_query('create schema if not exists silver') %}
        {% do run_query(lakehouse_run_audit_ddl(audit)) %}
        {% do adapter.cache_added(audit) %}
    {%- else -%}
        {{ lakehouse_run_audit_migrate(audit) }}
    {%- endif -%}
    {#- each staging model's last audited watermark in each bronze table it has read (a
        recreated bronze table starts its versions again: an older table's marks say nothing
        of it), in one query -#}
    {%- set audited = {} -%}
    {%- for row in run_query('select model, bronze_table_id, max(watermark_after) from ' ~ audit
        ~ ' where bronze_table_id is not null group by model, bronze_table_id').rows -%}
        {%- do audited.update({row[0] ~ '@' ~ row[1]: row[2]}) -%}
    {%- endfor -%}
    {%- set rows = [] -%}
    {%- set changed = [] -%}
    {%- for result in results if result.node.resource_type == 'model' -%}
        {%- set row = lakehouse_audit_row(audited, result) -%}
        {%- do rows.append('select * from (\n' ~ row.sql ~ '\n)') -%}
        {%- if row.changed -%}{%- do changed.append(result.node.name) -%}{%- endif -%}
    {%- endfor -%}
    {#- a run in which nothing had anything to do wrote nothing anywhere: nor does the audit -#}
    {%- if changed -%}
        {% do run_query('insert into ' ~ audit ~ '\n' ~ rows | join('\nunion all\n')) %}
    {%- endif -%}
    {% do return('') %}
{% endmacro %}


{# An audit table from before its bronze counts or table ids gains them (null for the runs before). #}
{% macro lakehouse_run_audit_migrate(audit) %}
    {%- set names = adapter.get_columns_in_relation(audit) | map(attribute='name') | list -%}
    {%- if 'bronze_rows_read' not in names -%}
        {% do run_query('alter table ' ~ audit ~ ' add columns (bronze_rows_read bigint after watermark_after, '
            ~ 'bronze_malformed bigint after bronze_rows_read, duplicates_dropped bigint after bronze_malformed)') %}
    {%- endif -%}
    {%- if 'bronze_table_id' not in names -%}
        {% do run_query('alter table ' ~ audit ~ ' add columns (bronze_table_id string)') %}
    {%- endif -%}
{% endmacro %}


{% macro lakehouse_run_audit_ddl(audit) %}
    create table if not exists {{ audit }} (
        invocation_id string,
        run_started_at timestamp,
        run_date date,
        model string,
        status string,
        duration_seconds double,
        watermark_before bigint,
        watermark_after bigint,
        bronze_rows_read bigint,
        bronze_malformed bigint,
        duplicates_dropped bigint,
        events_staged bigint,
        late_minutes bigint,
        late_hours bigint,
        late_days bigint,
        quarantined bigint,
        quarantined_by_reason map<string, bigint>,
        sessions_created bigint,
        sessions_extended bigint,
        sessions_merged bigint,
        sessions_split bigint,
        sessions_deleted bigint,
        runaway_sessions bigint,
        bronze_table_id string
    )
    using delta
    partitioned by (run_date)
{% endmacro %}


{# The audit row of one model's result: {sql: a select of one row, changed: whether it did anything}. #}
{% macro lakehouse_audit_row(audited, result) %}
    {%- set name = result.node.name -%}
    {%- set base -%}
        '{{ invocation_id }}' as invocation_id,
        timestamp'{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as run_started_at,
        date'{{ run_started_at.strftime("%Y-%m-%d") }}' as run_date,
        '{{ name }}' as model,
        '{{ result.status }}' as status,
        cast({{ result.execution_time | round(3) }} as double) as duration_seconds
    {%- endset -%}
    {%- if name.startswith('stg_bronze__') and result.status == 'success' -%}
        {{ return(lakehouse_audit_staging(audited, base, result.node)) }}
    {%- elif name in ('web_sessions', 'ide_sessions') and result.status == 'success' -%}
        {{ return(lakehouse_audit_sessions(base, result.node)) }}
    {%- endif -%}
    {%- set empty -%}
    select {{ base }}, {{ lakehouse_audit_nulls(lakehouse_audit_staging_columns()) }},
        cast(null as map<string, bigint>) as quarantined_by_reason,
        {{ lakehouse_audit_nulls(lakehouse_audit_sessions_columns()) }},
        cast(null as string) as bronze_table_id
    {%- endset -%}
    {{ return({'sql': empty, 'changed': result.status != 'success'}) }}
{% endmacro %}


{# The staging models' bigint columns (null in other models' rows). #}
{% macro lakehouse_audit_staging_columns() %}
    {% do return(['watermark_before', 'watermark_after', 'bronze_rows_read', 'bronze_malformed',
        'duplicates_dropped', 'events_staged', 'late_minutes', 'late_hours', 'late_days', 'quarantined']) %}
{% endmacro %}


{# The sessions models' columns (null in other models' rows). #}
{% macro lakehouse_audit_sessions_columns() %}
    {% do return(['sessions_created', 'sessions_extended', 'sessions_merged', 'sessions_split',
        'sessions_deleted', 'runaway_sessions']) %}
{% endmacro %}


{% macro lakehouse_audit_nulls(columns) -%}
    {%- for c in columns -%}cast(null as bigint) as {{ c }}{{ ', ' if not loop.last }}{%- endfor -%}
{%- endmacro %}


{#
    A staging model: what it staged since the last audited version. Lateness is landing
    time minus event time: minutes (5 min, a session gap, to 1 h), hours (to 1 day), days.
    The bronze rows of the same versions (read from its change data feed, or the table as
    of the version on a first build), the malformed among them (kept in bronze, shown by
    events_quarantine, never staged), and the duplicates staging dropped (rows read less
    malformed less staged).
#}
{% macro lakehouse_audit_staging(audited, base, node) %}
    {%- set relation = api.Relation.create(schema=node.schema, identifier=node.alias, type='table') -%}
    {%- set mark = lakehouse_watermark_of(lakehouse_table_state(relation)) -%}
    {%- set after = mark.version if mark is not none else none -%}
    {#- the last audited version of the bronze table staging reads now (its id in the mark) -#}
    {%- set table_id = mark.upstream_id if mark is not none else none -%}
    {%- set before = audited.get(node.name ~ '@' ~ table_id) if table_id is not none else none -%}
    {#- none audited yet for that table (an audit from before table ids): the batch's low, the
        watermark the run began with (none on a first build or a full refresh) -#}
    {%- if before is none -%}
        {%- set batch = lakehouse_batch_in(node.compiled_code or '') -%}
        {%- set before = batch.low if batch is not none else none -%}
    {%- endif -%}
    {#- game events carry the collector's receipt time, the others their own event time -#}
    {%- set event_time = 'received_at' if node.name.endswith('game_events') else 'event_at' -%}
    {%- set lateness = "(unix_seconds(_ingested_at) - unix_seconds(" ~ event_time ~ "))" -%}
    {%- set moved = after is not none and after != before -%}
    {#- the bronze table it reads: its one source -#}
    {%- set source = namespace(relation=none) -%}
    {%- for id in node.depends_on.nodes if id.startswith('source.') -%}
        {%- set source.relation = api.Relation.create(
            schema=graph.sources[id].schema, identifier=graph.sources[id].identifier, type='table') -%}
    {%- endfor -%}
    {%- set bronze = source.relation -%}
    {%- set change_feed = false -%}
    {%- if moved and bronze is not none and before is not none -%}
        {%- set state = lakehouse_table_state(bronze) -%}
        {%- set change_feed = state is not none
            and state.properties.get('delta.enableChangeDataFeed', 'false') | lower == 'true' -%}
    {%- endif -%}
    {%- set sql -%}
    with bronze_rows as (
        {%- if not moved or bronze is none %}
        select false as is_malformed where false
        {%- elif before is none %}
        select is_malformed from {{ bronze }} version as of {{ after }}
        {%- elif change_feed %}
        select is_malformed from table_changes('{{ bronze }}', {{ before + 1 }}, {{ after }})
        where _change_type = 'insert'
        {%- else %}
        {#- no change feed: the count is unknown rather than a scan of all of bronze #}
        select cast(null as boolean) as is_malformed
        {%- endif %}
    ),
    bronze_counts as (
        select
            {%- if moved and bronze is not none and (before is none or change_feed) %}
            count(*) as rows_read, count_if(is_malformed) as malformed
            {%- else %}
            cast(null as bigint) as rows_read, cast(null as bigint) as malformed
            {%- endif %}
        from bronze_rows
    ),
    staged as (
        select * from {{ relation }}
        {#- nothing new since the last audit: no scan at all #}
        where {{ 'false' if after is none or after == before else 'true' }}
        and _bronze_version <= {{ after if after is not none else -1 }}
        {%- if before is not none %} and _bronze_version > {{ before }}{% endif %}
    ),
    reasons as (
        select map_from_entries(collect_list(struct(quarantine_reason, n))) as by_reason
        from (
            select quarantine_reason, count(*) as n from staged
            where is_quarantined group by quarantine_reason
        )
    ),
    staged_counts as (
        select
            count(*) as events_staged,
            count_if({{ lateness }} >= 300 and {{ lateness }} < 3600) as late_minutes,
            count_if({{ lateness }} >= 3600 and {{ lateness }} < 86400) as late_hours,
            count_if({{ lateness }} >= 86400) as late_days,
            count_if(is_quarantined) as quarantined
        from staged
    )
    {#- three one-row aggregates side by side: each read once (a scalar subquery per
        column would read bronze's change feed once per column) #}
    select
        {{ base }},
        cast({{ before if before is not none else 'null' }} as bigint) as watermark_before,
        cast({{ after if after is not none else 'null' }} as bigint) as watermark_after,
        bronze_counts.rows_read as bronze_rows_read,
        bronze_counts.malformed as bronze_malformed,
        bronze_counts.rows_read - bronze_counts.malformed - staged_counts.events_staged
            as duplicates_dropped,
        staged_counts.events_staged,
        staged_counts.late_minutes,
        staged_counts.late_hours,
        staged_counts.late_days,
        staged_counts.quarantined,
        reasons.by_reason as quarantined_by_reason,
        {{ lakehouse_audit_nulls(lakehouse_audit_sessions_columns()) }},
        {{ "'" ~ table_id ~ "'" if table_id is not none else 'cast(null as string)' }} as bronze_table_id
    from staged_counts
    cross join bronze_counts
    cross join reasons
    {%- endset -%}
    {{ return({'sql': sql, 'changed': moved}) }}
{% endmacro %}


{#
    A sessions model: how this run's batch changed sessions, from the this-run table of
    re-sessionized events (every event of the run's windows, with its session before,
    `previous_session_id`, null for a new event, and after). Counted only when that table
    was written in this run (an empty batch leaves the last run's in place). A run that
    built the sessions table whole (its first build, a full refresh) created every session.
#}
{% macro lakehouse_audit_sessions(base, node) %}
    {%- set kind = node.name.split('_')[0] -%}
    {%- set events = api.Relation.create(schema=node.schema, identifier='int_' ~ kind ~ '_events_resessionized', type='table') -%}
    {%- set sessions = api.Relation.create(schema=node.schema, identifier=node.alias, type='table') -%}
    {#- a datetime through the session, a string through the Thrift server: compared as text -#}
    {%- set started = run_started_at.strftime('%Y-%m-%d %H:%M:%S') -%}
    {%- set written = run_query('describe history ' ~ events ~ ' limit 1').rows -%}
    {%- set this_run = (written | length > 0) and (written[0]['timestamp'] | string)[:19] >= started -%}
    {%- set rebuilt = namespace(yes=false) -%}
    {%- for commit in run_query('describe history ' ~ sessions ~ ' limit 3').rows
        if (commit['timestamp'] | string)[:19] >= started
        and ('CREATE' in commit['operation'] or 'REPLACE' in commit['operation']) -%}
        {%- set rebuilt.yes = true -%}
    {%- endfor -%}
    {%- set sql -%}
    {%- if rebuilt.yes %}
    select
        {{ base }},
        {{ lakehouse_audit_nulls(lakehouse_audit_staging_columns()) }},
        cast(null as map<string, bigint>) as quarantined_by_reason,
        count(*) as sessions_created,
        0L as sessions_extended,
        0L as sessions_merged,
        0L as sessions_split,
        0L as sessions_deleted,
        count_if(is_runaway) as runaway_sessions,
        cast(null as string) as bronze_table_id
    from {{ sessions }}
    {%- else %}
    {#- one pass: each session id of the run's windows, as it is after the run (after) and
        as it was before (before), side by side; a previous id with no session after it is
        a deleted session -#}
    with events as (
        select session_id, previous_session_id, is_stored from {{ events }}
        where {{ 'true' if this_run else 'false' }}
    ),
    after as (
        select
            session_id,
            count(distinct previous_session_id) as sessions_before,
            count_if(not is_stored) as new_events
        from events
        group by session_id
    ),
    before as (
        select previous_session_id, count(distinct session_id) as sessions_after
        from events
        where previous_session_id is not null
        group by previous_session_id
    ),
    ids as (
        select
            coalesce(after.session_id, before.previous_session_id) as session_id,
            after.session_id is not null as is_after,
            after.sessions_before,
            after.new_events,
            before.sessions_after
        from after
        full outer join before on after.session_id = before.previous_session_id
    ),
    runaway as (
        select session_id from {{ sessions }} where is_runaway
    )
    select
        {{ base }},
        {{ lakehouse_audit_nulls(lakehouse_audit_staging_columns()) }},
        cast(null as map<string, bigint>) as quarantined_by_reason,
        count_if(is_after and sessions_before = 0) as sessions_created,
        count_if(is_after and sessions_before = 1 and new_events > 0) as sessions_extended,
        count_if(is_after and sessions_before > 1) as sessions_merged,
        count_if(sessions_after > 1) as sessions_split,
        count_if(not is_after) as sessions_deleted,
        count_if(is_after and runaway.session_id is not null) as runaway_sessions,
        cast(null as string) as bronze_table_id
    from ids
    left join runaway on ids.session_id = runaway.session_id
    {%- endif %}
    {%- endset -%}
    {{ return({'sql': sql, 'changed': this_run or rebuilt.yes}) }}
{% endmacro %}
