-- depends_on: {{ ref('int_ide_events_resessionized') }}
{{
    config(
        incremental_strategy='upsert',
        unique_key=['product_code', 'session_date'],
        partition_by=['session_date'],
        prune_partitions='session_date',
        delete_when='@sessions = 0 and @ide_events = 0',
    )
}}

{#-
    Per IDE product and day. `session_date` is the session's start date for the session
    measures and the event's date for the share of IDE-generated events outside any session.
    Incremental: only the (product, day) rows this run's windows span: every changed or
    superseded session, and every batch event, lies inside a window.
-#}
{%- set batch = lakehouse_consumer_batch(
    ref('int_ide_events_resessionized'),
    lakehouse_model_mark(ref('ide_sessions')),
) -%}
{%- set days = none -%}
{%- if is_incremental() and not batch.empty -%}
{%- set days = lakehouse_window_dates(ref('int_ide_events_resessionized')) -%}
{%- endif %}
{{ lakehouse_batch_marker(batch) }}

with

user_actions as (

    select event_id from {{ ref('ide_user_actions') }}

),

{% if is_incremental() -%}
affected_days as (

    {{ lakehouse_window_days(ref('int_ide_events_resessionized'), 'product_code') }}

),

sessions as (

    select ide_sessions.*
    from {{ ref('ide_sessions') }} as ide_sessions
    left semi join affected_days
        on ide_sessions.product_code = affected_days.product_code
        and ide_sessions.session_date = affected_days.day
    where {{ lakehouse_in_dates('ide_sessions.session_date', days) }}

),

events as (

    select events.*
    from {{ ref('ide_events_sessionized') }} as events
    left semi join affected_days
        on events.product_code = affected_days.product_code
        and events.event_date = affected_days.day
    where {{ lakehouse_in_dates('events.event_date', days) }}

),
{%- else -%}
sessions as (

    select * from {{ ref('ide_sessions') }}

),

events as (

    select * from {{ ref('ide_events_sessionized') }}

),
{%- endif %}

session_days as (

    select
        product_code,
        session_date,
        count(*) as sessions,
        count_if(is_runaway) as runaway_sessions,
        count(distinct user_id) as active_users,
        cast(
            avg(case when {{ lakehouse_counts_in_averages() }} then duration_seconds end)
            as decimal(18, 3)
        ) as avg_session_duration_seconds,
        cast(
            sum(case when {{ lakehouse_counts_in_averages() }} then user_action_count end)
            / nullif(count_if({{ lakehouse_counts_in_averages() }}), 0) as decimal(18, 4)
        ) as user_actions_per_session
    from sessions
    group by product_code, session_date

),

ide_event_days as (

    -- IDE-generated events only: user actions always belong to a session
    select
        events.product_code,
        events.event_date as session_date,
        count(*) as ide_events,
        count_if(events.session_id is null) as ide_events_outside_sessions
    from events
    left anti join user_actions
        on events.event_id = user_actions.event_id
    group by events.product_code, events.event_date

),

{% if is_incremental() -%}
days as (

    select
        product_code,
        day as session_date
    from affected_days

),
{%- else -%}
days as (

    select
        product_code,
        session_date
    from session_days
    union
    select
        product_code,
        session_date
    from ide_event_days

),
{%- endif %}

final as (

    select
        days.product_code,
        days.session_date,
        coalesce(session_days.sessions, 0) as sessions,
        coalesce(session_days.runaway_sessions, 0) as runaway_sessions,
        coalesce(session_days.active_users, 0) as active_users,
        session_days.avg_session_duration_seconds,
        session_days.user_actions_per_session,
        coalesce(ide_event_days.ide_events, 0) as ide_events,
        cast(
            ide_event_days.ide_events_outside_sessions / ide_event_days.ide_events as decimal(9, 4)
        ) as ide_events_outside_sessions_share
    from days
    left join session_days
        on days.product_code = session_days.product_code
        and days.session_date = session_days.session_date
    left join ide_event_days
        on days.product_code = ide_event_days.product_code
        and days.session_date = ide_event_days.session_date

)

select * from final
