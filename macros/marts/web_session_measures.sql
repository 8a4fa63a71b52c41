{#
    The per-host measures over a set of web sessions (group by the grain around it). Totals
    count every session; averages, the median and the shares leave runaway sessions out
    (lakehouse_counts_in_averages).
#}
{% macro web_session_measures() -%}
    {%- set counted = lakehouse_counts_in_averages() -%}
        count(*) as sessions,
        sum(event_count) as events,
        count_if(is_runaway) as runaway_sessions,
        cast(
            sum(case when {{ counted }} then event_count end) / nullif(count_if({{ counted }}), 0)
            as decimal(18, 4)
        ) as avg_events_per_session,
        cast(
            avg(case when {{ counted }} then duration_seconds end) as decimal(18, 3)
        ) as avg_session_duration_seconds,
        cast(
            percentile(case when {{ counted }} then duration_seconds end, 0.5) as decimal(18, 3)
        ) as median_session_duration_seconds,
        cast(
            count_if({{ counted }} and is_logged_in) / nullif(count_if({{ counted }}), 0) as decimal(9, 4)
        ) as logged_in_session_share,
        cast(
            count_if({{ counted }} and event_count = 1) / nullif(count_if({{ counted }}), 0) as decimal(9, 4)
        ) as bounce_rate,
        -- a visitor is the (ip, user_id) pair; a logged-out visitor counts as one per ip
        size(collect_set(named_struct('ip', ip, 'user_id', coalesce(user_id, '')))) as unique_visitors
{%- endmacro %}
