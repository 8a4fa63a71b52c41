-- depends_on: {{ ref('int_web_events_resessionized') }}
{{
    config(
        incremental_strategy='upsert',
        unique_key=['host', 'session_date'],
        partition_by=['session_date'],
        prune_partitions='session_date',
        delete_when='@sessions = 0',
    )
}}

{#-
    Per host and session date. Incremental: only the (host, day) rows this run's windows
    span. Every session that changed, and every one it superseded, lies inside a window, so
    those days are the only ones whose figures can move; a day whose last session moved
    away gets zero sessions, and the upsert deletes it.
-#}
{%- set batch = lakehouse_consumer_batch(
    ref('int_web_events_resessionized'),
    lakehouse_model_mark(ref('web_sessions')),
) -%}
{%- set days = none -%}
{%- if is_incremental() and not batch.empty -%}
{%- set days = lakehouse_window_dates(ref('int_web_events_resessionized')) -%}
{%- endif %}
{{ lakehouse_batch_marker(batch) }}

with

{% if is_incremental() -%}
affected_days as (

    {{ lakehouse_window_days(ref('int_web_events_resessionized'), 'host') }}

),

sessions as (

    select web_sessions.*
    from {{ ref('web_sessions') }} as web_sessions
    left semi join affected_days
        on web_sessions.host = affected_days.host
        and web_sessions.session_date = affected_days.day
    where {{ lakehouse_in_dates('web_sessions.session_date', days) }}

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
        coalesce(daily.runaway_sessions, 0) as runaway_sessions,
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
