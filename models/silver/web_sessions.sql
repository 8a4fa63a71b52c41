{{
    config(
        incremental_strategy='replace_intervals',
        unique_key='session_id',
        interval_key=['host', 'ip', 'user_id'],
        interval_start='session_start_at',
        interval_end='session_end_at',
        partition_by=['session_date'],
        prune_partitions={
            'column': 'session_date',
            'low': 'to_date(session_start_at)',
            'high': 'to_date(session_end_at)',
        },
        post_hook="{{ lakehouse_mark_staged_through(ref('stg_bronze__web_events')) }}",
    )
}}

{%- set batch = lakehouse_staged_batch(ref('stg_bronze__web_events')) -%}
{%- set batch_sql -%}
    select event_key, host, ip, user_id, event_date
    from {{ ref('stg_bronze__web_events') }}
    where not is_quarantined and {{ lakehouse_staged_filter(batch) }}
{%- endset %}

with

{{ lakehouse_affected_session_events(
    ref('web_events_sessionized'),
    batch_sql,
    identity=['event_key'],
    ts='event_at',
    start_col='session_start_at',
    end_col='session_end_at',
    key_columns=['host', 'ip', 'user_id'],
) }},

ordered as (

    select
        *,
        row_number() over (partition by session_id order by event_at, event_key) as event_rank,
        row_number() over (partition by session_id order by event_at desc, event_key desc) as event_rank_desc
    from scoped_events

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
        max(case when event_rank = 1 then device end) as device
    from ordered
    group by session_id, host, ip, user_id

),

final as (

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
        referrer
    from aggregated

)

select * from final
