{#
    CTE `affected_days` (<group_column>, day) for a daily gold model: the days a batch of
    staged events can have changed. A changed session holds a batch event; a superseded one
    overlapped it, so its start date lies in the span of the new one. So: every day from the
    start date to the end date of each session that holds a batch event, plus (with
    include_event_dates) the batch events' own dates, for measures over events.

    Also returns the affected days' bounds as date literals for partition pruning, as
    {'ctes': text, 'low': literal, 'high': literal}, or none when the batch is empty.
#}
{% macro lakehouse_affected_days(events_model, batch_sql, identity, group_column, start_col, end_col, include_event_dates=false) %}
    {%- set batch_ctes = lakehouse_batch_sessions(
        events_model, batch_sql, identity, [group_column], start_col, end_col
    ) -%}
    {%- if batch_ctes is none -%}
        {% do return(none) %}
    {%- endif -%}
    {%- set ctes -%}
{{ batch_ctes }},

affected_days as (

    select distinct {{ group_column }}, day
    from batch_sessions
    lateral view explode(sequence(to_date(session_start), to_date(session_end))) as day
    {%- if include_event_dates %}
    union
    select distinct {{ group_column }}, event_date as day
    from batch
    {%- endif %}

)
    {%- endset -%}
    {%- set bounds = lakehouse_date_bounds(
        'with ' ~ ctes ~ ' select min(day), max(day) from affected_days'
    ) -%}
    {% do return({'ctes': ctes, 'low': bounds.low, 'high': bounds.high} if bounds else none) %}
{% endmacro %}
