{# The per-host measures over a set of web sessions (group by the grain around it). #}
{% macro web_session_measures() -%}
        count(*) as sessions,
        sum(event_count) as events,
        cast(sum(event_count) / count(*) as decimal(18, 4)) as avg_events_per_session,
        cast(avg(duration_seconds) as decimal(18, 3)) as avg_session_duration_seconds,
        cast(percentile(duration_seconds, 0.5) as decimal(18, 3)) as median_session_duration_seconds,
        cast(count_if(is_logged_in) / count(*) as decimal(9, 4)) as logged_in_session_share,
        cast(count_if(event_count = 1) / count(*) as decimal(9, 4)) as bounce_rate,
        -- a visitor is the (ip, user_id) pair; a logged-out visitor counts as one per ip
        size(collect_set(named_struct('ip', ip, 'user_id', coalesce(user_id, '')))) as unique_visitors
{%- endmacro %}
