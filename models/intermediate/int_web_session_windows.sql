{#-
    The windows this run recomputes, per (host, ip, user_id): the stored sessions the batch
    touches and the batch's own events, merged into disjoint spans (lakehouse_session_windows).
    Stored events are read as they were before this run, only on the batch's dates and the
    days either side (a session reaches across midnight by at most G).
-#}
{%- set batch = lakehouse_inherited_batch(ref('int_web_events_batched')) -%}
{%- set stored = lakehouse_stored('web_events_sessionized') -%}
{%- set near_dates = none -%}
{%- if stored is not none and not batch.empty -%}
{%- set near_dates = lakehouse_days_around(ref('int_web_events_batched')) -%}
{%- endif %}
{{ lakehouse_batch_marker(batch) }}

with

batch as (

    select
        host,
        ip,
        user_id,
        event_at,
        true as is_action
    from {{ ref('int_web_events_batched') }}

),

stored as (

    {%- if stored is none %}

    select
        host,
        ip,
        user_id,
        event_at,
        event_at as session_start_ts,
        event_at as session_end_ts
    from batch
    where false
    {%- else %}

    select
        host,
        ip,
        user_id,
        event_at,
        session_start_at as session_start_ts,
        session_end_at as session_end_ts
    from {{ stored }}
    where {{ lakehouse_in_dates('event_date', near_dates) }}
    {%- endif %}

),

windows as (

    {%- if lakehouse_fixed_window() %}

    {{ lakehouse_fixed_windows('batch', ['host', 'ip', 'user_id'], 'event_at') }}
    {%- else %}

    {{ lakehouse_session_windows('batch', 'stored', ['host', 'ip', 'user_id'], 'event_at') }}
    {%- endif %}

),

final as (

    select * from windows

)

select * from final
