-- depends_on: {{ ref('int_web_events_resessionized') }}
-- depends_on: {{ ref('int_web_session_windows') }}
{{
    config(
        incremental_strategy='upsert',
        unique_key='session_id',
        partition_by=['session_date'],
        prune_partitions='session_date',
        delete_when='@is_superseded',
    )
}}

{#-
    One row per web session. Incremental: the sessions of this run's windows that hold a
    changed event, re-aggregated, and the sessions they supersede deleted by id (MERGE on
    session_id, pruned to the dates of both). When this model is in step with the events
    model, the superseded ids are the windows' previous session ids; after a run that
    skipped this model they are found by overlap with the windows instead, and every session
    of the windows is re-aggregated.
-#}
{%- set plan = lakehouse_sessions_plan(
    ref('int_web_events_resessionized'),
    ref('web_events_sessionized'),
    ref('int_web_session_windows'),
) -%}
{%- set batch, in_step, window_dates = plan.batch, plan.in_step, plan.window_dates -%}
{%- set columns = [
    'session_id', 'host', 'ip', 'user_id', 'is_logged_in', 'session_start_at', 'session_end_at',
    'session_date', 'event_count', 'duration_seconds', 'country', 'state', 'city', 'os',
    'browser', 'device', 'landing_url', 'exit_url', 'referrer', 'is_session_cut', 'is_runaway',
] %}
{%- if is_incremental() and not batch.empty -%}
{%- do lakehouse_require_columns(this, columns) -%}
{%- endif %}
{{ lakehouse_batch_marker(batch) }}

with

{% if is_incremental() -%}
window_events as (

    select * from {{ ref('int_web_events_resessionized') }}

),

session_events as (

    {{ lakehouse_changed_session_events('window_events', in_step) }}

),
{%- else -%}
session_events as (

    select * from {{ ref('web_events_sessionized') }}

),
{%- endif %}

ordered as (

    select
        *,
        row_number() over (partition by session_id order by event_at, event_key) as event_rank,
        row_number() over (
            partition by session_id order by event_at desc, event_key desc
        ) as event_rank_desc
    from session_events

),

aggregated as (

    select
        session_id,
        host,
        ip,
        user_id,
        min(session_start_at) as session_start_at,
        min(session_end_at) as session_end_at,
        count(*) as event_count,
        cast(
            (unix_millis(max(event_at)) - unix_millis(min(event_at))) / 1000.0 as decimal(18, 3)
        ) as duration_seconds,
        max(case when event_rank = 1 then url end) as landing_url,
        max(case when event_rank_desc = 1 then url end) as exit_url,
        max(case when event_rank = 1 then referrer end) as referrer,
        max(case when event_rank = 1 then country end) as country,
        max(case when event_rank = 1 then state end) as state,
        max(case when event_rank = 1 then city end) as city,
        max(case when event_rank = 1 then os end) as os,
        max(case when event_rank = 1 then browser end) as browser,
        max(case when event_rank = 1 then device end) as device,
        -- it starts at a cut, or ends at one (before its last event + G)
        bool_or(is_cut_start)
        or min(session_end_at)
        < max(event_at) + interval {{ var('sessions__gap_seconds') }} seconds as is_session_cut
    from ordered
    group by session_id, host, ip, user_id

),

sessions as (

    select
        session_id,
        host,
        ip,
        user_id,
        user_id is not null as is_logged_in,
        session_start_at,
        session_end_at,
        to_date(session_start_at) as session_date,
        event_count,
        duration_seconds,
        country,
        state,
        city,
        os,
        browser,
        device,
        landing_url,
        exit_url,
        referrer,
        is_session_cut,
        {{ lakehouse_is_runaway(
            'event_count', 'duration_seconds', 'is_session_cut'
        ) }} as is_runaway
    from aggregated

),

{% if is_incremental() -%}
superseded as (

    {{ lakehouse_superseded_sessions(
        'window_events',
        ref('int_web_session_windows'),
        this,
        ['host', 'ip', 'user_id'],
        'session_start_at',
        'session_end_at',
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
