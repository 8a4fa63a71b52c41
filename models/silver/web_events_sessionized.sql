-- depends_on: {{ ref('int_web_events_resessionized') }}
{{
    config(
        incremental_strategy='upsert',
        unique_key='event_key',
        partition_by=['event_date'],
        prune_partitions='event_date',
    )
}}

{#-
    Sessions per (host, ip, user_id); a logged-out visitor (null user_id) is a key of its own.
    Incremental: the rows of this run's windows that changed (int_web_events_resessionized).
    Full refresh: every staged event, sessionized at once.
-#}
{%- set batch = lakehouse_consumer_batch(
    ref('int_web_events_resessionized'),
    lakehouse_staged_mark(ref('stg_bronze__web_events')),
) -%}
{%- set columns = [
    'event_key', 'session_id', 'host', 'ip', 'user_id', 'is_logged_in', 'url', 'referrer',
    'user_agent', 'country', 'state', 'city', 'os', 'browser', 'device', 'event_at', 'event_date',
    'session_start_at', 'session_end_at', 'is_cut_start',
] %}
{{ lakehouse_batch_marker(batch) }}

with

{% if is_incremental() -%}
changed as (

    select {{ columns | join(', ') }}
    from {{ ref('int_web_events_resessionized') }}
    where is_changed

),

final as (

    select * from changed

)
{%- else -%}
staged as (

    select *
    from {{ ref('stg_bronze__web_events') }}
    where not is_quarantined
        and {{ lakehouse_batch_filter(batch) }}

),

sessionized as (

    {{ sessionize('staged', ['host', 'ip', 'user_id'], 'event_at', 'true') }}

),

final as (

    select
        event_key,
        {{ lakehouse_web_session_id('session_start_ts') }} as session_id,
        host,
        ip,
        user_id,
        user_id is not null as is_logged_in,
        url,
        referrer,
        user_agent,
        country,
        state,
        city,
        os,
        browser,
        device,
        event_at,
        event_date,
        session_start_ts as session_start_at,
        session_end_ts as session_end_at,
        is_cut_start
    from sessionized

)
{%- endif %}

select * from final
