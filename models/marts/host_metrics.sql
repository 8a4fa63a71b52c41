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
        min(session_date) as first_session_date,
        max(session_date) as last_session_date
    from sessions
    group by host

)

select * from final
