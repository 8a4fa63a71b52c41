{# Whether a session is a runaway (a bot, a stuck IDE): more events or a longer span than the bounds in vars sessions__runaway_max_events and sessions__runaway_max_hours, or a piece of a longer run cut at a block boundary. #}
{% macro lakehouse_is_runaway(event_count, duration_seconds, is_session_cut) -%}
    ({{ event_count }} > {{ var('sessions__runaway_max_events') }}
        or {{ duration_seconds }} > {{ var('sessions__runaway_max_hours') }} * 3600
        or {{ is_session_cut }})
{%- endmacro %}


{# Whether a session counts in gold's averages: not a runaway, unless var marts__include_runaway_sessions says to count them all. #}
{% macro lakehouse_counts_in_averages(is_runaway='is_runaway') -%}
    {{ 'true' if var('marts__include_runaway_sessions') else 'not ' ~ is_runaway }}
{%- endmacro %}
