{#
    The sessions chain, written once for every stream (macros/sessions/streams.sql):
    int_<stream>_events_resessionized (this run's windows, re-sessionized), the silver events
    model and the silver sessions model. See the docs' overview for the worked example.
#}


{#
    The whole of int_<stream>_events_resessionized, a this-run table that starts the run's
    chain. Its batch is the staged events the incremental models downstream have not all
    taken in (lakehouse_run_batch). From it and the stored events (`stored_name`, read as
    they were before this run, without a graph edge) it computes the windows the batch
    forces to be recomputed (lakehouse_session_windows), and re-sessionizes every event
    inside them: the stored ones with the session they had, and the batch's. Every row
    carries its window; `is_changed` marks the rows the events model writes, and
    `previous_session_id` names the sessions they leave behind.
#}
{% macro lakehouse_resessionize(stream, staging, stored_name) %}
    {%- set key, ts = stream.key, stream.ts -%}
    {%- set batch = lakehouse_run_batch(staging) -%}
    {%- set stored = lakehouse_stored(stored_name) -%}
    {%- set near_dates = none -%}
    {%- if stored is not none and not batch.empty -%}
        {%- do lakehouse_require_columns(stored, ['is_cut_start']) -%}
        {#- the stored events' mark, when their table holds exactly that state (lets the
            sessions model delete superseded sessions by their ids) -#}
        {%- set batch = dict(batch, stored_mark=lakehouse_settled_mark(stored)) -%}
        {%- set near_dates = lakehouse_reach_dates(staging, batch) -%}
    {%- endif %}
{{ lakehouse_batch_marker(batch) }}

with

batch as (

    {{ lakehouse_stream_staged(stream, staging, batch) }}

),

stored as (

    {%- if stored is none %}

    select
        *,
        cast(null as string) as session_id,
        cast(null as timestamp) as session_start_ts,
        cast(null as timestamp) as session_end_ts,
        cast(null as boolean) as is_cut_start
    from batch
    where false
    {%- else %}

    -- every stored event a window of this batch can hold (lakehouse_reach_dates)
    select
        {%- for c in stream.columns %}
        stored.{{ c }},
        {%- endfor %}
        {{ lakehouse_is_action(stream) }} as is_action,
        stored.session_id,
        stored.{{ stream.session_start }} as session_start_ts,
        stored.{{ stream.session_end }} as session_end_ts,
        stored.is_cut_start
    from {{ stored }} as stored
    {{ lakehouse_actions_join(stream, 'stored') }}
    where {{ lakehouse_in_dates('stored.event_date', near_dates) }}
    {%- endif %}

),

stored_sessions as (

    select * from stored
    where session_id is not null

),

windows as (

    {%- if lakehouse_fixed_window() %}

    {{ lakehouse_fixed_windows('batch', key, ts) }}
    {%- else %}

    {{ lakehouse_session_windows('batch', 'stored_sessions', key, ts) }}
    {%- endif %}

),

window_events as (

    -- the stored events inside a window, and every batch event (each lies in a window; a
    -- fixed window may leave an older one out), with the window and the session they had
    select
        events.*,
        windows.window_start,
        windows.window_end
    from (
        select
            {%- for c in stream.columns %}
            {{ c }},
            {%- endfor %}
            is_action,
            session_id as previous_session_id,
            session_start_ts as previous_session_start_ts,
            session_end_ts as previous_session_end_ts,
            is_cut_start as previous_is_cut_start,
            true as is_stored
        from stored
        union all
        select
            *,
            cast(null as string) as previous_session_id,
            cast(null as timestamp) as previous_session_start_ts,
            cast(null as timestamp) as previous_session_end_ts,
            cast(null as boolean) as previous_is_cut_start,
            false as is_stored
        from batch
    ) as events
    left join windows
        on {{ lakehouse_key_match(key, 'events', 'windows') }}
        and events.{{ ts }} >= windows.window_start
        and events.{{ ts }} < windows.window_end
    where not events.is_stored or windows.window_start is not null

),

stored_in_windows as (

    select * from window_events
    where is_stored

),

deduplicated as (

    -- an event delivered again, or staged again after an interrupted run, is stored
    -- already: keep the stored row, so it counts as changed only if its session did
    select *
    from window_events
    qualify row_number() over (partition by {{ stream.identity | join(', ') }} order by is_stored desc) = 1

),

anchors as (

    -- what the window's edges hold from outside it: each stored session's start (a first
    -- activity, or a cut), and each end that is a cut
    select
        {{ key | join(', ') }},
        previous_session_start_ts as {{ ts }},
        previous_is_cut_start as is_cut
    from stored_in_windows
    where previous_session_id is not null
    union
    select
        {{ key | join(', ') }},
        previous_session_end_ts as {{ ts }},
        true as is_cut
    from stored_in_windows
    where previous_session_id is not null
    group by {{ key | join(', ') }}, previous_session_id, previous_session_end_ts
    having {{ lakehouse_ends_at_cut(
        'previous_session_end_ts', 'max(case when is_action then ' ~ ts ~ ' end)'
    ) }}

),

identified as (

    {{ lakehouse_identified_sessions(stream, 'deduplicated', 'anchors') }}

),

final as (

    select
        {{ lakehouse_stream_select(stream, stream.events_columns) }},
        is_action,
        window_start,
        window_end,
        previous_session_id,
        previous_session_start_ts as previous_{{ stream.session_start }},
        is_stored,
        (
            not is_stored
            or not (
                previous_session_id <=> session_id
                and previous_session_end_ts <=> session_end_ts
                and previous_is_cut_start <=> is_cut_start
            )
        ) as is_changed
    from identified

)

select * from final
{%- endmacro %}


{#
    The date literals of every stored event a window of `batch` can hold, for pruning the
    stored events: a window is made of batch events and the stored sessions they touch, each
    with an event less than 2G after a batch event and shorter than 2H + G (the runaway cut),
    so it lies within 2H + 3G of a batch event. With a fixed window (the benchmark's
    baseline), the days it spans.
#}
{% macro lakehouse_reach_dates(staging, batch) %}
    {%- set staged = 'select event_at, event_date from ' ~ staging
        ~ ' where not is_quarantined and ' ~ lakehouse_batch_filter(batch) -%}
    {%- if lakehouse_fixed_window() -%}
        {% do return(lakehouse_date_list(
            'select explode(sequence(date_sub(max(event_date), '
            ~ (var('sessions__fixed_window_days') - 1) ~ '), date_add(max(event_date), 1))) from ('
            ~ staged ~ ')'
        )) %}
    {%- endif -%}
    {%- set reach_us = 2 * lakehouse_block_micros() + 3 * var('sessions__gap_seconds') * 1000000 -%}
    {% do return(lakehouse_date_list(
        'select explode(sequence(to_date(timestamp_micros(unix_micros(event_at) - ' ~ reach_us
        ~ ')), to_date(timestamp_micros(unix_micros(event_at) + ' ~ reach_us ~ ')))) from ('
        ~ staged ~ ')'
    )) %}
{% endmacro %}


{#
    A stream's events sessionized (the sessionize rule: session_start_ts, session_end_ts,
    is_cut_start), each with its session's id, as a whole select.
#}
{% macro lakehouse_identified_sessions(stream, events, anchors=none) %}
    select
        sessionized.*,
        {{ stream.session_id('sessionized.session_start_ts') }} as session_id
    from (
        {{ sessionize(events, stream.key, stream.ts, 'is_action', anchors) }}
    ) as sessionized
{%- endmacro %}


{#
    The whole of a stream's silver events model. Incremental: the rows of this run's windows
    that changed (`resessionized`). Full refresh: every staged event, sessionized at once.
#}
{% macro lakehouse_sessionized_events(stream, resessionized, staging) %}
    {%- set batch = lakehouse_consumer_batch(resessionized, lakehouse_staged_mark(staging)) %}
{{ lakehouse_batch_marker(batch) }}

with

{% if is_incremental() -%}
changed as (

    select {{ stream.events_columns | join(', ') }}
    from {{ resessionized }}
    where is_changed

),

final as (

    select * from changed

)
{%- else -%}
staged as (

    {{ lakehouse_stream_staged(stream, staging, batch) }}

),

identified as (

    {{ lakehouse_identified_sessions(stream, 'staged') }}

),

final as (

    select
        {{ lakehouse_stream_select(stream, stream.events_columns) }}
    from identified

)
{%- endif %}

select * from final
{%- endmacro %}


{#
    The frame of a stream's silver sessions model, called with the stream's aggregation as
    its body: CTEs that read `session_events` (the events of the sessions to write, with
    is_action) and end in `sessions` (one row per session, in the order of `columns`).

    Incremental: the sessions of this run's windows that hold a changed event, re-aggregated,
    and the sessions they supersede deleted by id (rows with is_superseded for the upsert's
    delete_when). When this model is in step with the events model, the superseded ids are
    the windows' previous session ids; after a run that skipped this model they are found by
    overlap with the windows, and every session of the windows is re-aggregated. Full
    refresh: every session of the events model.
#}
{% macro lakehouse_sessions(stream, resessionized, events_model, columns) %}
    {%- set plan = lakehouse_sessions_plan(resessionized, events_model) -%}
    {%- set batch, in_step, window_dates = plan.batch, plan.in_step, plan.window_dates -%}
    {%- if is_incremental() and not batch.empty -%}
        {%- do lakehouse_require_columns(this, columns) -%}
    {%- endif %}
{{ lakehouse_batch_marker(batch) }}

with

{% if is_incremental() -%}
window_events as (

    select * from {{ resessionized }}

),

session_events as (

    {{ lakehouse_changed_session_events('window_events', in_step) }}

),
{%- else -%}
session_events as (

    select
        events.*,
        {{ lakehouse_is_action(stream) }} as is_action
    from {{ events_model }} as events
    {{ lakehouse_actions_join(stream, 'events') }}
    where events.session_id is not null

),
{%- endif %}

{{ caller() }}

{% if is_incremental() -%}
windows as (

    {{ lakehouse_windows_of(resessionized, stream.key) }}

),

superseded as (

    {{ lakehouse_superseded_sessions(
        'window_events',
        'windows',
        this,
        stream.key,
        stream.session_start,
        stream.session_end,
        in_step,
        window_dates,
    ) }}

),

final as (

    select
        *,
        false as is_superseded
    from sessions
    union all
    {{ lakehouse_superseded_rows('superseded', columns) }}

)
{%- else -%}
final as (

    select * from sessions

)
{%- endif %}

select * from final
{%- endmacro %}


{# This run's windows, (key columns, window_start, window_end), from the re-sessionized events that carry them (no key: the distinct spans). #}
{% macro lakehouse_windows_of(resessionized, key_columns) -%}
    select distinct {{ (key_columns + ['window_start', 'window_end']) | join(', ') }}
    from {{ resessionized }}
    where window_start is not null
{%- endmacro %}


{#
    Whether a session ends at a runaway cut: its end comes before its last activity + G
    (a session that ends by a gap ends exactly there). SQL over the session's end and its
    last activity's time.
#}
{% macro lakehouse_ends_at_cut(session_end, last_activity) -%}
    {{ session_end }} < {{ last_activity }} + interval {{ var('sessions__gap_seconds') }} seconds
{%- endmacro %}


{# The (column, day) pairs this run's windows span, as a whole select: the days a daily mart recomputes. #}
{% macro lakehouse_window_days(resessionized, column) -%}
    select distinct
        windows.{{ column }},
        day
    from (
        {{ lakehouse_windows_of(resessionized, [column]) }}
    ) as windows
        lateral view explode(sequence(to_date(windows.window_start), to_date(windows.window_end))) as day
{%- endmacro %}
