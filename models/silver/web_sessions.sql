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
    One row per web session, aggregated from its events (`session_events`) in the frame of
    lakehouse_sessions: incremental runs re-aggregate the sessions of this run's windows
    that changed and delete the ones they supersede.
-#}
{%- set columns = [
    'session_id', 'host', 'ip', 'user_id', 'is_logged_in', 'session_start_at', 'session_end_at',
    'session_date', 'event_count', 'duration_seconds', 'country', 'state', 'city', 'os',
    'browser', 'device', 'landing_url', 'exit_url', 'referrer', 'is_session_cut', 'is_runaway',
] %}
{% call lakehouse_sessions(
    lakehouse_web_stream(),
    ref('int_web_events_resessionized'),
    ref('web_events_sessionized'),
    columns,
) -%}
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
        or {{ lakehouse_ends_at_cut('min(session_end_at)', 'max(event_at)') }} as is_session_cut
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
{%- endcall %}
