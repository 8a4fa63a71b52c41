{{ config(materialized='table') }}

{#-
    Answers: what is the average number of web events per session on Tech Creator (and every
    other platform), and how do its hosts compare. One row per host, with its platform's
    figures beside its own; hosts missing from the seed fall under 'Other'.
-#}

with

host_metrics as (

    select * from {{ ref('host_metrics') }}

),

host_platforms as (

    select * from {{ ref('host_platforms') }}

),

hosts as (

    select
        host_metrics.host,
        coalesce(host_platforms.platform, 'Other') as platform,
        host_metrics.sessions,
        host_metrics.events,
        host_metrics.averaged_sessions,
        host_metrics.averaged_events,
        host_metrics.avg_events_per_session
    from host_metrics
    left join host_platforms
        on host_metrics.host = host_platforms.host

),

platforms as (

    select
        platform,
        sum(sessions) as platform_sessions,
        sum(events) as platform_events,
        -- runaway sessions left out, as in each host's average
        cast(
            sum(averaged_events) / nullif(sum(averaged_sessions), 0) as decimal(18, 4)
        ) as platform_avg_events_per_session
    from hosts
    group by platform

),

final as (

    select
        hosts.platform,
        hosts.host,
        hosts.sessions,
        hosts.events,
        hosts.avg_events_per_session,
        platforms.platform_sessions,
        platforms.platform_events,
        platforms.platform_avg_events_per_session,
        cast(
            hosts.avg_events_per_session - platforms.platform_avg_events_per_session
            as decimal(18, 4)
        ) as avg_events_vs_platform
    from hosts
    inner join platforms
        on hosts.platform = platforms.platform

)

select * from final
