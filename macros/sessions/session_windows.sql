{#
    The part of one key's history a batch forces to be recomputed, as a whole select of
    (key columns, window_start, window_end). See the docs' worked example.

    batch   a relation or CTE with the key columns, `ts` and `is_action`: the run's events
    stored  a relation or CTE with the key columns, `ts`, session_start_ts and
            session_end_ts: the stored events near the batch (those with a session; read
            only the partitions the batch can reach)

    A window is a span [window_start, window_end) per key covering the stored sessions the
    batch extends, merges, moves or lands inside, and the batch events themselves (each
    activity widened by G); overlapping spans are merged. No other session crosses a window,
    and a window's edge is either a gap of at least G in activity or a stored runaway cut
    (which stays a cut, as activity only grows): so no session spans two windows, and every
    session that changes, and every one it supersedes, lies inside one window. A late event
    five days back recomputes its own neighbourhood, not the five days in between; inside a
    runaway run, at most the sessions either side of it (each shorter than two blocks).
#}
{% macro lakehouse_session_windows(batch, stored, key_columns, ts) %}
    {%- set gap = var('sessions__gap_seconds') -%}
    {%- set keys = key_columns | join(', ') -%}
    select
        {{ keys }},
        min(bound_start) as window_start,
        max(bound_end) as window_end
    from (
        -- a bound starting past the reach of the key's earlier ones opens a new window
        select
            *,
            sum(case when reach_before is null or bound_start > reach_before then 1 else 0 end) over (
                partition by {{ keys }}
                order by bound_start, bound_end
                rows between unbounded preceding and current row
            ) as window_number
        from (
            select
                *,
                max(bound_end) over (
                    partition by {{ keys }}
                    order by bound_start, bound_end
                    rows between unbounded preceding and 1 preceding
                ) as reach_before
            from (
                -- the stored sessions the batch touches. A session that holds a time has
                -- an event less than G before it or, when it starts at a runaway cut b, less
                -- than G after b; an activity joins a session less than G before its start:
                -- so a session the batch touches has an event within (t - G, t + 2G) of it
                select distinct
                    {% for k in key_columns %}stored.{{ k }}, {% endfor %}
                    stored.session_start_ts as bound_start,
                    stored.session_end_ts as bound_end
                from {{ stored }} as stored
                inner join {{ batch }} as batch
                    on {{ lakehouse_key_match(key_columns, 'stored', 'batch') }}
                    and stored.{{ ts }} > batch.{{ ts }} - interval {{ gap }} seconds
                    and stored.{{ ts }} < batch.{{ ts }} + interval {{ 2 * gap }} seconds
                where
                    -- an activity less than G before the start or after the last activity joins it
                    (batch.is_action
                        and batch.{{ ts }} > stored.session_start_ts - interval {{ gap }} seconds
                        and batch.{{ ts }} < stored.session_end_ts)
                    -- any event inside the interval belongs to it
                    or (batch.{{ ts }} >= stored.session_start_ts and batch.{{ ts }} < stored.session_end_ts)
                union all
                select
                    {{ keys }},
                    {{ ts }} as bound_start,
                    case
                        when is_action then {{ ts }} + interval {{ gap }} seconds
                        else {{ ts }} + interval 1 millisecond
                    end as bound_end
                from {{ batch }}
            ) as bounds
        ) as bounds_reach
    ) as bounds_numbered
    group by {{ keys }}, window_number
{%- endmacro %}


{#
    The date literals this run's windows span (for `in (...)` pruning of stored events and
    sessions), from the re-sessionized events that carry them: one query on a small table.
#}
{% macro lakehouse_window_dates(resessionized) %}
    {% do return(lakehouse_date_list(
        'select explode(sequence(to_date(window_start), to_date(window_end))) from ('
        ~ lakehouse_windows_of(resessionized, []) ~ ')'
    )) %}
{% endmacro %}


{# The stored rows of a model this run's tables read as they were before the run (no graph edge: the model is downstream), or none before its first build. #}
{% macro lakehouse_stored(model_name) %}
    {%- if not execute -%}
        {% do return(none) %}
    {%- endif -%}
    {%- set node = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model')
        | selectattr('name', 'equalto', model_name) | first -%}
    {% do return(adapter.get_relation(database=none, schema=node.schema, identifier=node.alias)) %}
{% endmacro %}
