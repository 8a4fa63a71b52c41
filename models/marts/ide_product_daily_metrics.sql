-- depends_on: {{ ref('ide_events_sessionized') }}
{{
    config(
        incremental_strategy='upsert',
        unique_key=['product_code', 'session_date'],
        delete_when='@sessions = 0 and @ide_events = 0',
        post_hook="{{ lakehouse_mark_staged_through(ref('stg_bronze__ide_events')) }}",
    )
}}

{#-
    Per IDE product and day. `session_date` is the session's start date for the session
    measures and the event's date for the share of IDE-generated events outside any session.
    Incremental: only the (product, day) rows a batch can change.
-#}
{%- set batch = lakehouse_staged_batch(ref('stg_bronze__ide_events')) -%}
{%- set affected = none -%}
{%- if is_incremental() -%}
    {%- set affected = lakehouse_affected_days(
        ref('ide_events_sessionized'),
        'select user_id, event_id, product_code, event_at as `timestamp`, event_date from '
            ~ ref('stg_bronze__ide_events')
            ~ ' where not is_quarantined and ' ~ lakehouse_staged_filter(batch),
        identity=['user_id', 'event_id', 'product_code', '`timestamp`'],
        group_column='product_code',
        start_col='session_start_ts',
        end_col='session_end_ts',
        include_event_dates=true,
    ) -%}
{%- endif %}

with

user_actions as (

    select event_id from {{ ref('ide_user_actions') }}

),

{% if affected is not none -%}
{{ affected.ctes }},

sessions as (

    select ide_sessions.*
    from {{ ref('ide_sessions') }} as ide_sessions
    left semi join affected_days
        on ide_sessions.product_code = affected_days.product_code
        and ide_sessions.session_date = affected_days.day
    where ide_sessions.session_date between {{ affected.low }} and {{ affected.high }}

),

events as (

    select events.*
    from {{ ref('ide_events_sessionized') }} as events
    left semi join affected_days
        on events.product_code = affected_days.product_code
        and events.event_date = affected_days.day
    where events.event_date between {{ affected.low }} and {{ affected.high }}

),
{%- elif is_incremental() -%}
affected_days as (

    select cast(null as string) as product_code, cast(null as date) as day
    where false

),

sessions as (

    select * from {{ ref('ide_sessions') }} where false

),

events as (

    select * from {{ ref('ide_events_sessionized') }} where false

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
        count(distinct user_id) as active_users,
        cast(avg(duration_seconds) as decimal(18, 3)) as avg_session_duration_seconds,
        cast(sum(user_action_count) / count(*) as decimal(18, 4)) as user_actions_per_session
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

    select product_code, day as session_date from affected_days

),
{%- else -%}
days as (

    select product_code, session_date from session_days
    union
    select product_code, session_date from ide_event_days

),
{%- endif %}

final as (

    select
        days.product_code,
        days.session_date,
        coalesce(session_days.sessions, 0) as sessions,
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
