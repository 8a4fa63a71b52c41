{#
    The part of one key's history an incremental run must recompute (see the docs' worked
    example). Expects two CTEs in scope:
      staged    the batch: key columns, `ts`, `is_action`
      existing  the model's own rows: key columns, `ts`, `date_column`, `is_action`,
                session_start_ts, session_end_ts
    and defines these (bounds, bounds_reach and bounds_numbered build `windows`):
      existing_near  existing rows within G of a batch event of the same key; every session
                     the batch can touch has an activity among them
      touched        the sessions the batch extends, merges, moves or lands inside
      windows        per key, the disjoint spans [window_start, window_end) that the touched
                     sessions and the batch events cover (each activity widened by G),
                     overlapping ones merged; no other session crosses one, and activities
                     of two windows are more than G apart, so sessions never span two.
                     A late event five days back recomputes its own neighbourhood, not the
                     five days of the key's history in between.
    `near` bounds the partitions existing_near reads (the batch's dates widened by G).
#}
{% macro lakehouse_session_windows(key_columns, ts, date_column, near) %}
    {%- set gap = var('sessions__gap_seconds') -%}
existing_near as (

    select
        {% for k in key_columns %}existing.{{ k }}, {% endfor %}
        existing.session_start_ts,
        existing.session_end_ts,
        staged.{{ ts }} as batch_ts,
        staged.is_action as batch_is_action
    from existing
    inner join staged
        on {% for k in key_columns %}existing.{{ k }} <=> staged.{{ k }}
        and {% endfor %}existing.{{ ts }} > staged.{{ ts }} - interval {{ gap }} seconds
        and existing.{{ ts }} < staged.{{ ts }} + interval {{ gap }} seconds
    where existing.session_start_ts is not null
        and existing.{{ date_column }} between {{ near.low }} and {{ near.high }}

),

touched as (

    select
        {{ key_columns | join(', ') }},
        session_start_ts,
        session_end_ts
    from existing_near
    where
        -- an activity less than G before the start or after the last activity joins it
        (batch_is_action
            and batch_ts > session_start_ts - interval {{ gap }} seconds
            and batch_ts < session_end_ts)
        -- any event inside the interval belongs to it
        or (batch_ts >= session_start_ts and batch_ts < session_end_ts)

),

bounds as (

    select {{ key_columns | join(', ') }}, session_start_ts as bound_start, session_end_ts as bound_end
    from touched
    union all
    select
        {{ key_columns | join(', ') }},
        {{ ts }} as bound_start,
        case
            when is_action then {{ ts }} + interval {{ gap }} seconds
            else {{ ts }} + interval 1 millisecond
        end as bound_end
    from staged

),

bounds_reach as (

    -- how far the key's earlier bounds reach: a bound starting past it opens a new window
    select
        *,
        max(bound_end) over (
            partition by {{ key_columns | join(', ') }}
            order by bound_start, bound_end
            rows between unbounded preceding and 1 preceding
        ) as reach_before
    from bounds

),

bounds_numbered as (

    select
        *,
        sum(case when reach_before is null or bound_start > reach_before then 1 else 0 end) over (
            partition by {{ key_columns | join(', ') }}
            order by bound_start, bound_end
            rows between unbounded preceding and current row
        ) as window_number
    from bounds_reach

),

windows as (

    select
        {{ key_columns | join(', ') }},
        min(bound_start) as window_start,
        max(bound_end) as window_end
    from bounds_numbered
    group by {{ key_columns | join(', ') }}, window_number

)
{%- endmacro %}


{# Existing rows inside their key's window, for the recompute (the `windows` CTE in scope). #}
{% macro lakehouse_window_rows(columns, key_columns, ts, date_column, bounds) %}
    select {% for c in columns %}existing.{{ c }}{% if not loop.last %}, {% endif %}{% endfor %}
    from existing
    inner join windows
        on {% for k in key_columns %}existing.{{ k }} <=> windows.{{ k }}
        and {% endfor %}existing.{{ ts }} >= windows.window_start
        and existing.{{ ts }} < windows.window_end
    where existing.{{ date_column }} between {{ bounds.low }} and {{ bounds.high }}
{%- endmacro %}
