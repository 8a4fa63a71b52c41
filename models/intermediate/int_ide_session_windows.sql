{#-
    The windows this run recomputes, per (user_id, product_code): the stored sessions the
    batch touches and the batch's own events (an IDE-generated event only its own instant),
    merged into disjoint spans (lakehouse_session_windows). Stored events are read as they
    were before this run, only on the batch's dates and the days either side.
-#}
{%- set batch = lakehouse_inherited_batch(ref('int_ide_events_batched')) -%}
{%- set stored = lakehouse_stored('ide_events_sessionized') -%}
{%- set near_dates = none -%}
{%- if stored is not none and not batch.empty -%}
{%- set near_dates = lakehouse_days_around(ref('int_ide_events_batched')) -%}
{%- endif %}
{{ lakehouse_batch_marker(batch) }}

with

batch as (

    select
        user_id,
        product_code,
        `timestamp`,
        is_action
    from {{ ref('int_ide_events_batched') }}

),

stored as (

    {%- if stored is none %}

    select
        user_id,
        product_code,
        `timestamp`,
        `timestamp` as session_start_ts,
        `timestamp` as session_end_ts
    from batch
    where false
    {%- else %}

    select
        user_id,
        product_code,
        `timestamp`,
        session_start_ts,
        session_end_ts
    from {{ stored }}
    where session_start_ts is not null
        and {{ lakehouse_in_dates('event_date', near_dates) }}
    {%- endif %}

),

windows as (

    {%- if lakehouse_fixed_window() %}

    {{ lakehouse_fixed_windows('batch', ['user_id', 'product_code'], '`timestamp`') }}
    {%- else %}

    {{ lakehouse_session_windows('batch', 'stored', ['user_id', 'product_code'], '`timestamp`') }}
    {%- endif %}

),

final as (

    select * from windows

)

select * from final
