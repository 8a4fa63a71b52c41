-- depends_on: {{ ref('web_events_sessionized') }}
{{
    config(
        incremental_strategy='upsert',
        unique_key=['host', 'session_date'],
        delete_when='@sessions = 0',
        post_hook="{{ lakehouse_mark_staged_through(ref('stg_bronze__web_events')) }}",
    )
}}

{#- Per host and session date. Incremental: only the (host, day) rows changed sessions touch. -#}
{%- set batch = lakehouse_staged_batch(ref('stg_bronze__web_events')) -%}
{%- set affected = none -%}
{%- if is_incremental() -%}
    {%- set affected = lakehouse_affected_days(
        ref('web_events_sessionized'),
        'select event_key, host, event_date from ' ~ ref('stg_bronze__web_events')
            ~ ' where not is_quarantined and ' ~ lakehouse_staged_filter(batch),
        identity=['event_key'],
        group_column='host',
        start_col='session_start_at',
        end_col='session_end_at',
    ) -%}
{%- endif %}

with

{% if affected is not none -%}
{{ affected.ctes }},

sessions as (

    select web_sessions.*
    from {{ ref('web_sessions') }} as web_sessions
    left semi join affected_days
        on web_sessions.host = affected_days.host
        and web_sessions.session_date = affected_days.day
    where web_sessions.session_date between {{ affected.low }} and {{ affected.high }}

),
{%- elif is_incremental() -%}
affected_days as (

    select cast(null as string) as host, cast(null as date) as day
    where false

),

sessions as (

    select * from {{ ref('web_sessions') }} where false

),
{%- else -%}
sessions as (

    select * from {{ ref('web_sessions') }}

),
{%- endif %}

daily as (

    select
        host,
        session_date,
        {{ web_session_measures() }}
    from sessions
    group by host, session_date

),

final as (

{% if is_incremental() %}
    -- every affected day, with zero sessions where its last session moved away (deleted)
    select
        affected_days.host,
        affected_days.day as session_date,
        coalesce(daily.sessions, 0) as sessions,
        coalesce(daily.events, 0) as events,
        daily.avg_events_per_session,
        daily.avg_session_duration_seconds,
        daily.median_session_duration_seconds,
        daily.logged_in_session_share,
        daily.bounce_rate,
        coalesce(daily.unique_visitors, 0) as unique_visitors
    from affected_days
    left join daily
        on affected_days.host = daily.host
        and affected_days.day = daily.session_date
{% else %}
    select * from daily
{% endif %}

)

select * from final
