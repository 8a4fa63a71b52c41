-- Invariant: gold's sessions and events per host and day equal what silver's sessions and
-- sessionized events say, in both directions (no day missing, none extra).
-- Returns the (host, day) rows where they differ.

with

from_sessions as (

    select
        host,
        session_date,
        count(*) as sessions,
        sum(event_count) as events
    from {{ ref('web_sessions') }}
    group by host, session_date

),

from_events as (

    select
        host,
        to_date(session_start_at) as session_date,
        count(*) as events
    from {{ ref('web_events_sessionized') }}
    group by host, to_date(session_start_at)

),

gold as (

    select
        host,
        session_date,
        sessions,
        events
    from {{ ref('host_daily_metrics') }}

)

select
    coalesce(gold.host, from_sessions.host) as host,
    coalesce(gold.session_date, from_sessions.session_date) as session_date,
    gold.sessions as gold_sessions,
    from_sessions.sessions as silver_sessions,
    gold.events as gold_events,
    from_sessions.events as silver_session_events,
    from_events.events as silver_events
from gold
full outer join from_sessions
    on gold.host = from_sessions.host
    and gold.session_date = from_sessions.session_date
left join from_events
    on coalesce(gold.host, from_sessions.host) = from_events.host
    and coalesce(gold.session_date, from_sessions.session_date) = from_events.session_date
where gold.sessions is distinct from from_sessions.sessions
    or gold.events is distinct from from_sessions.events
    or gold.events is distinct from from_events.events
