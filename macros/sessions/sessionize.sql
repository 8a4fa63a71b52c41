{#
    The session rule, in one place for every event stream.

    Activities (rows where `is_action` is true) of one key form a session while each follows
    the previous one by less than `sessions__gap_seconds` (G); an activity exactly G after
    the previous one starts a new session. A session covers [first activity, last activity + G).
    Every row of `events` (activity or not) whose time lies in a session's interval gets it;
    the others get null bounds.

    Arguments:
      events       a relation or CTE name with the key columns, `ts` and `is_action`
      key_columns  the session key; nulls are values of their own (null-safe joins)
      ts           the event-time column
      is_action    a boolean column or expression
    Returns a select of every `events` column plus session_start_ts and session_end_ts.
#}
{% macro sessionize(events, key_columns, ts, is_action) %}
    {%- set gap = var('sessions__gap_seconds') -%}
    {%- set keys = key_columns | join(', ') %}
    select
        events.*,
        sessions.session_start_ts,
        sessions.session_end_ts
    from {{ events }} as events
    left join (
        select
            {{ keys }},
            min({{ ts }}) as session_start_ts,
            max({{ ts }}) + interval {{ gap }} seconds as session_end_ts
        from (
            select
                {{ keys }},
                {{ ts }},
                sum(
                    case
                        when previous_ts is null
                            or {{ ts }} >= previous_ts + interval {{ gap }} seconds then 1
                        else 0
                    end
                ) over (
                    partition by {{ keys }}
                    order by {{ ts }}
                    rows between unbounded preceding and current row
                ) as session_seq
            from (
                select
                    {{ keys }},
                    {{ ts }},
                    lag({{ ts }}) over (partition by {{ keys }} order by {{ ts }}) as previous_ts
                from {{ events }}
                where {{ is_action }}
            ) as actions
        ) as numbered
        group by {{ keys }}, session_seq
    ) as sessions
        on {% for k in key_columns %}events.{{ k }} <=> sessions.{{ k }}
        and {% endfor %}events.{{ ts }} >= sessions.session_start_ts
        and events.{{ ts }} < sessions.session_end_ts
{% endmacro %}
