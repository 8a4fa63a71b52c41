{#
    CTEs for a per-session model: `scoped_events`, the rows of `events_model` (a sessionized
    events model) that belong to the sessions a batch of staged events changed. Every
    changed session holds at least one event of the batch, so the sessions of the batch's
    events are all that need recomputing; superseded ones are deleted by the
    replace_intervals strategy. On a full refresh: every event that has a session.

    batch_sql must select the batch's identity columns and event_date from staging (and the
    key_columns, which only the fixed-window baseline uses).
#}
{% macro lakehouse_affected_session_events(events_model, batch_sql, identity, ts, start_col, end_col, key_columns=none) %}
    {%- if not is_incremental() -%}
scoped_events as (

    select * from {{ events_model }} where session_id is not null

)
    {%- else -%}
    {%- set affected_ctes = lakehouse_batch_sessions(
        events_model, batch_sql, identity, ['session_id'], start_col, end_col, key_columns
    ) -%}
    {%- if affected_ctes is none -%}
scoped_events as (

    select * from {{ events_model }} where false

)
    {%- else -%}
    {%- set session_dates = lakehouse_date_bounds(
        'with ' ~ affected_ctes ~ ' select to_date(min(session_start)), to_date(max(session_end)) from batch_sessions'
    ) -%}
{{ affected_ctes }},

scoped_events as (

    select events.*
    from {{ events_model }} as events
    left semi join batch_sessions
        on events.session_id = batch_sessions.session_id
    {%- if session_dates is not none %}
    where events.event_date between {{ session_dates.low }} and {{ session_dates.high }}
    {%- else %}
    where false
    {%- endif %}

)
    {%- endif -%}
    {%- endif -%}
{% endmacro %}
