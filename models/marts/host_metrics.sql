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
        {{ web_session_measures() }},
        -- what the averages are taken over (platform_host_comparison adds hosts up from it)
        count_if({{ lakehouse_counts_in_averages() }}) as averaged_sessions,
        coalesce(
            sum(case when {{ lakehouse_counts_in_averages() }} then event_count end), 0
        ) as averaged_events,
        min(session_date) as first_session_date,
        max(session_date) as last_session_date
    from sessions
    group by host

)

select * from final
