{#
    CTEs for a per-session model: `scoped_events`, the rows of `events_model` (a sessionized
    events model) that belong to the sessions a batch of staged events changed. Every
    changed session holds at least one event of the batch, so the sessions of the batch's
    events are all that need recomputing; superseded ones are deleted by the
    replace_intervals strategy. On a full refresh: every event that has a session.

    batch_sql must select the batch's identity columns and event_date from staging.
#}
{% macro lakehouse_affected_session_events(events_model, batch_sql, identity, ts, start_col, end_col) %}
    {%- if not is_incremental() -%}
scoped_events as (

    select * from {{ events_model }} where session_id is not null

)
    {%- else -%}
    {%- set batch_ctes -%}
batch as (

    {{ batch_sql }}

)
    {%- endset -%}
    {%- set batch_dates = lakehouse_date_bounds(
        'with ' ~ batch_ctes ~ ' select min(event_date), max(event_date) from batch'
    ) -%}
    {%- if batch_dates is none -%}
scoped_events as (

    select * from {{ events_model }} where false

)
    {%- else -%}
    {%- set affected_ctes -%}
{{ batch_ctes }},

affected as (

    select distinct
        events.session_id,
        events.{{ start_col }} as session_start,
        events.{{ end_col }} as session_end
    from {{ events_model }} as events
    inner join batch
        on {% for c in identity %}events.{{ c }} <=> batch.{{ c }}{% if not loop.last %}
        and {% endif %}{% endfor %}
    where events.session_id is not null
        and events.event_date between {{ batch_dates.low }} and {{ batch_dates.high }}

)
    {%- endset -%}
    {%- set session_dates = lakehouse_date_bounds(
        'with ' ~ affected_ctes ~ ' select to_date(min(session_start)), to_date(max(session_end)) from affected'
    ) -%}
{{ affected_ctes }},

scoped_events as (

    select events.*
    from {{ events_model }} as events
    left semi join affected
        on events.session_id = affected.session_id
    {%- if session_dates is not none %}
    where events.event_date between {{ session_dates.low }} and {{ session_dates.high }}
    {%- else %}
    where false
    {%- endif %}

)
    {%- endif -%}
    {%- endif -%}
{% endmacro %}
