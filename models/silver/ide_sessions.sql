{{
    config(
        incremental_strategy='replace_intervals',
        unique_key='session_id',
        interval_key=['user_id', 'product_code'],
        interval_start='session_start_ts',
        interval_end='session_end_ts',
        partition_by=['session_date'],
        prune_partitions={
            'column': 'session_date',
            'low': 'to_date(session_start_ts)',
            'high': 'to_date(session_end_ts)',
        },
        post_hook="{{ lakehouse_mark_staged_through(ref('stg_bronze__ide_events')) }}",
    )
}}

{%- set batch = lakehouse_staged_batch(ref('stg_bronze__ide_events')) -%}
{%- set batch_sql -%}
    select user_id, event_id, product_code, event_at as `timestamp`, event_date
    from {{ ref('stg_bronze__ide_events') }}
    where not is_quarantined and {{ lakehouse_staged_filter(batch) }}
{%- endset %}

with

{{ lakehouse_affected_session_events(
    ref('ide_events_sessionized'),
    batch_sql,
    identity=['user_id', 'event_id', 'product_code', '`timestamp`'],
    ts='`timestamp`',
    start_col='session_start_ts',
    end_col='session_end_ts',
    key_columns=['user_id', 'product_code'],
) }},

user_actions as (

    select event_id from {{ ref('ide_user_actions') }}

),

flagged as (

    select
        scoped_events.*,
        user_actions.event_id is not null as is_action
    from scoped_events
    left join user_actions
        on scoped_events.event_id = user_actions.event_id

),

final as (

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
        to_date(min(session_start_ts)) as session_date
    from flagged
    group by session_id, user_id, product_code

)

select * from final
