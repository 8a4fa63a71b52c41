-- Invariant: gold's IDE sessions per product and day equal silver.ide_sessions, and its
-- IDE-generated event counts equal silver.ide_events_sessionized.
-- Returns the (product, day) rows where they differ.

with

from_sessions as (

    select
        product_code,
        session_date,
        count(*) as sessions
    from {{ ref('ide_sessions') }}
    group by product_code, session_date

),

from_events as (

    select
        events.product_code,
        events.event_date as session_date,
        count(*) as ide_events
    from {{ ref('ide_events_sessionized') }} as events
    left anti join {{ ref('ide_user_actions') }} as user_actions
        on events.event_id = user_actions.event_id
    group by events.product_code, events.event_date

),

silver as (

    select
        coalesce(from_sessions.product_code, from_events.product_code) as product_code,
        coalesce(from_sessions.session_date, from_events.session_date) as session_date,
        coalesce(from_sessions.sessions, 0) as sessions,
        coalesce(from_events.ide_events, 0) as ide_events
    from from_sessions
    full outer join from_events
        on from_sessions.product_code = from_events.product_code
        and from_sessions.session_date = from_events.session_date

),

gold as (

    select
        product_code,
        session_date,
        sessions,
        ide_events
    from {{ ref('ide_product_daily_metrics') }}

)

select
    coalesce(gold.product_code, silver.product_code) as product_code,
    coalesce(gold.session_date, silver.session_date) as session_date,
    gold.sessions as gold_sessions,
    silver.sessions as silver_sessions,
    gold.ide_events as gold_ide_events,
    silver.ide_events as silver_ide_events
from gold
full outer join silver
    on gold.product_code = silver.product_code
    and gold.session_date = silver.session_date
where gold.sessions is distinct from silver.sessions
    or gold.ide_events is distinct from silver.ide_events
