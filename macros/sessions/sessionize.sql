{#
    The session rule, in one place for every event stream.

    Activities (rows where `is_action` is true) of one key form a run while each follows the
    previous one by less than `sessions__gap_seconds` (G); an activity exactly G after the
    previous one starts a new run. A run covers [first activity, last activity + G).

    The runaway cut: time is divided into blocks of `sessions__runaway_max_hours` (H) from
    1970-01-01T00:00Z. A run that has covered a whole block without a gap and goes on past its
    end is cut at that end, the block boundary b: the session before ends at b, the one after
    starts at b. Whether to cut at b depends only on the activities of [b - H - G, b], so a
    late event changes sessions within a few blocks of itself, never a whole week-long bot
    run. A session is thus shorter than 2H plus G; one that starts at a cut is flagged
    (is_cut_start), and one that ends at a cut ends before its last activity + G.

    Every row of `events` (activity or not) whose time lies in a session's interval gets it;
    the others get null bounds.

    Arguments:
      events       a relation or CTE name with the key columns, `ts` and `is_action`
      key_columns  the session key; nulls are values of their own (null-safe joins)
      ts           the event-time column
      is_action    a boolean column or expression
      anchors      optional relation or CTE with the key columns, `ts` and `is_cut`: what a
                   window's edges hold from outside it (its stored sessions' starts, and
                   their ends that are cuts). They count as activities and get no row; one
                   with is_cut starts a session there, as the cut it is.
    Returns a select of every `events` column plus session_start_ts, session_end_ts and
    is_cut_start.
#}
{% macro sessionize(events, key_columns, ts, is_action, anchors=none) %}
    {%- set gap = var('sessions__gap_seconds') -%}
    {%- set block_us = lakehouse_block_micros() -%}
    {%- set keys = key_columns | join(', ') -%}
    {#- an anchor that is a cut comes before an activity at the same instant -#}
    {%- set order = 'partition by ' ~ keys ~ ' order by ' ~ ts ~ ', is_cut desc' -%}
    {%- set running = order ~ ' rows between unbounded preceding and current row' %}
    select
        events.*,
        sessions.session_start_ts,
        sessions.session_end_ts,
        sessions.is_cut_start
    from {{ events }} as events
    left join (
        select
            {{ keys }},
            session_start_ts,
            -- the next session's cut ends this one only while its run goes on into it: a cut
            -- anchor after a gap (a stored session's edge, days later) starts a session of
            -- its own, and this one ends at its last activity + G
            least(next_cut_ts, last_ts + interval {{ gap }} seconds) as session_end_ts,
            cut_ts is not null as is_cut_start
        from (
            select
                *,
                lead(cut_ts) over (partition by {{ keys }} order by session_start_ts) as next_cut_ts
            from (
                select
                    {{ keys }},
                    -- only a session's first activity can carry the cut it starts at
                    min(cut_ts) as cut_ts,
                    coalesce(min(cut_ts), min({{ ts }})) as session_start_ts,
                    max({{ ts }}) as last_ts
                from (
                    select
                        *,
                        sum(case when is_new_run or cut_ts is not null then 1 else 0 end) over (
                            {{ running }}
                        ) as session_seq
                    from (
                        select
                            *,
                            -- an anchor that is a cut; or the block boundary between this
                            -- activity and the previous one, when the run has covered the
                            -- whole block before it
                            case
                                when is_cut and (previous_ts is null or previous_ts < {{ ts }})
                                    then {{ ts }}
                                when not is_new_run
                                    and unix_micros({{ ts }}) div {{ block_us }}
                                    > unix_micros(previous_ts) div {{ block_us }}
                                    and unix_micros(run_start_ts)
                                    <= (unix_micros({{ ts }}) div {{ block_us }} - 1) * {{ block_us }}
                                    then timestamp_micros(
                                        unix_micros({{ ts }}) div {{ block_us }} * {{ block_us }}
                                    )
                            end as cut_ts
                        from (
                            select
                                *,
                                max(case when is_new_run then {{ ts }} end) over (
                                    {{ running }}
                                ) as run_start_ts
                            from (
                                select
                                    *,
                                    (
                                        previous_ts is null
                                        or {{ ts }} >= previous_ts + interval {{ gap }} seconds
                                    ) as is_new_run
                                from (
                                    select
                                        {{ keys }},
                                        {{ ts }},
                                        is_cut,
                                        lag({{ ts }}) over ({{ order }}) as previous_ts
                                    from (
                                        select {{ keys }}, {{ ts }}, false as is_cut
                                        from {{ events }}
                                        where {{ is_action }}
                                        {%- if anchors is not none %}
                                        union all
                                        select {{ keys }}, {{ ts }}, is_cut
                                        from {{ anchors }}
                                        {%- endif %}
                                    ) as activities
                                ) as lagged
                            ) as runs
                        ) as run_starts
                    ) as cuts
                ) as numbered
                group by {{ keys }}, session_seq
            ) as grouped
        ) as sessions_with_next
    ) as sessions
        on {% for k in key_columns %}events.{{ k }} <=> sessions.{{ k }}
        and {% endfor %}events.{{ ts }} >= sessions.session_start_ts
        and events.{{ ts }} < sessions.session_end_ts
{% endmacro %}


{# The runaway cut's block, var sessions__runaway_max_hours, in microseconds (a whole number; longer than the gap). #}
{% macro lakehouse_block_micros() -%}
    {%- set hours = var('sessions__runaway_max_hours') -%}
    {%- set block_us = (hours * 3600 * 1000000) | round | int -%}
    {%- if block_us <= var('sessions__gap_seconds') * 1000000 -%}
        {% do exceptions.raise_compiler_error(
            "var sessions__runaway_max_hours (" ~ hours ~ ") must be longer than the session gap, "
            ~ "sessions__gap_seconds (" ~ var('sessions__gap_seconds') ~ " s)") %}
    {%- endif -%}
    {{ return(block_us) }}
{%- endmacro %}
