{#
    The body of an incremental sessionized-events model, shared by IDE and web events.

    `staged_ctes` must define the CTE `staged` (the batch: the `columns`, `is_action`) and,
    when incremental, `existing` (the model's rows: the `columns`, `is_action`,
    session_start_ts, session_end_ts). On a full refresh `staged` holds every event.
    On an incremental run only the windows the batch touches are recomputed, from the
    existing rows inside them plus the batch (see lakehouse_session_windows).

    Returns CTE text ending in `sessionized`: the `columns` with session_start_ts and
    session_end_ts, for the model's `final` CTE to name.
#}
{% macro sessionize_incrementally(staged_ctes, columns, key_columns, ts, identity, date_column='event_date') %}
    {%- set gap = var('sessions__gap_seconds') -%}
    {%- set near = none -%}
    {%- if is_incremental() -%}
        {%- set near = lakehouse_date_bounds(
            'with ' ~ staged_ctes ~ ' select to_date(min(' ~ ts ~ ') - interval ' ~ gap ~ ' seconds),'
            ~ ' to_date(max(' ~ ts ~ ') + interval ' ~ gap ~ ' seconds) from staged'
        ) -%}
    {%- endif -%}
    {%- if near is not none and lakehouse_fixed_window() -%}
        {#- the benchmark's baseline: every event of a batch key since the horizon -#}
        {%- set bounds = lakehouse_date_bounds(
            'with ' ~ staged_ctes ~ ' select ' ~ lakehouse_fixed_window_start('max(' ~ date_column ~ ')')
            ~ ', max(' ~ date_column ~ ') from staged'
        ) -%}
        {%- set window_ctes -%}
windows as (

    select distinct
        {{ key_columns | join(', ') }},
        timestamp({{ bounds.low }}) as window_start,
        timestamp'9999-12-31 00:00:00' as window_end
    from staged

)
        {%- endset -%}
    {%- elif near is not none -%}
        {%- set window_ctes = lakehouse_session_windows(key_columns, ts, date_column, near) -%}
        {%- set bounds = lakehouse_date_bounds(
            'with ' ~ staged_ctes ~ ', ' ~ window_ctes
            ~ ' select to_date(min(window_start)), to_date(max(window_end)) from windows'
        ) -%}
    {%- endif %}
{{ staged_ctes }},

{% if near is not none -%}
{{ window_ctes }},

window_events as (

    {{ lakehouse_window_rows(columns + ['is_action'], key_columns, ts, date_column, bounds) }}
    union all
    select {{ (columns + ['is_action']) | join(', ') }} from staged

),
{%- else -%}
window_events as (

    select {{ (columns + ['is_action']) | join(', ') }} from staged

),
{%- endif %}

deduplicated as (

    -- an event staged again after an interrupted run is among the existing rows too
    select *
    from window_events
    qualify row_number() over (partition by {{ identity | join(', ') }} order by {{ date_column }}) = 1

),

sessionized as (

    {{ sessionize('deduplicated', key_columns, ts, 'is_action') }}

)
{%- endmacro %}
