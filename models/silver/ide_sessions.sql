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
    One row per IDE session, aggregated from its events (`session_events`, IDE-generated ones
    included) in the frame of lakehouse_sessions: incremental runs re-aggregate the sessions
    of this run's windows that changed and delete the ones they supersede.
-#}
{%- set columns = [
    'session_id', 'user_id', 'product_code', 'session_start_ts', 'session_end_ts',
    'last_action_ts', 'duration_seconds', 'user_action_count', 'event_count', 'session_date',
    'is_session_cut', 'is_runaway',
] %}
{% call lakehouse_sessions(
    lakehouse_ide_stream(),
    ref('int_ide_events_resessionized'),
    ref('ide_events_sessionized'),
    columns,
) -%}
aggregated as (

    select
        session_id,
        user_id,
        product_code,
        min(session_start_ts) as session_start_ts,
        min(session_end_ts) as session_end_ts,
        max(case when is_action then `timestamp` end) as last_action_ts,
        cast(
            (
                unix_millis(max(case when is_action then `timestamp` end))
                - unix_millis(min(session_start_ts))
            ) / 1000.0 as decimal(18, 3)
        ) as duration_seconds,
        count_if(is_action) as user_action_count,
        count(*) as event_count,
        to_date(min(session_start_ts)) as session_date,
        -- it starts at a cut, or ends at one (before its last action + G)
        bool_or(is_cut_start)
        or {{ lakehouse_ends_at_cut(
            'min(session_end_ts)', 'max(case when is_action then `timestamp` end)'
        ) }} as is_session_cut
    from session_events
    group by session_id, user_id, product_code

),

sessions as (

    select
        *,
        {{ lakehouse_is_runaway(
            'event_count', 'duration_seconds', 'is_session_cut'
        ) }} as is_runaway
    from aggregated

),
{%- endcall %}
