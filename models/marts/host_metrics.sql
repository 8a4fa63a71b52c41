{{ config(materialized='table') }}

{#-
    Per host over all time. Rebuilt each run from silver.web_sessions (one row per session,
    small next to the events): all-time medians and distinct visitors cannot be added up from
    the daily rows.
-#}

with

sessions as (

    select * from {{ ref('web_sessions') }}

),

final as (

    select
        host,
        count(*) as sessions,
        sum(event_count) as events,
        cast(sum(event_count) / count(*) as decimal(18, 4)) as avg_events_per_session,
        cast(avg(duration_seconds) as decimal(18, 3)) as avg_session_duration_seconds,
        cast(percentile(duration_seconds, 0.5) as decimal(18, 3)) as median_session_duration_seconds,
        cast(count_if(is_logged_in) / count(*) as decimal(9, 4)) as logged_in_session_share,
        cast(count_if(event_count = 1) / count(*) as decimal(9, 4)) as bounce_rate,
        size(collect_set(named_struct('ip', ip, 'user_id', coalesce(user_id, '')))) as unique_visitors,
        min(session_date) as first_session_date,
        max(session_date) as last_session_date
    from sessions
    group by host

)

select * from final
