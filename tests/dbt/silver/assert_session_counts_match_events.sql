-- Invariant: each session's event_count equals the number of events that carry its id,
-- for IDE and web sessions alike. Returns the sessions whose counts disagree.

with

ide_counts as (

    select
        session_id,
        count(*) as events
    from {{ ref('ide_events_sessionized') }}
    where session_id is not null
    group by session_id

),

web_counts as (

    select
        session_id,
        count(*) as events
    from {{ ref('web_events_sessionized') }}
    group by session_id

)

select
    'ide' as stream,
    sessions.session_id,
    sessions.event_count,
    ide_counts.events
from {{ ref('ide_sessions') }} as sessions
full outer join ide_counts
    on sessions.session_id = ide_counts.session_id
where sessions.event_count is distinct from ide_counts.events

union all

select
    'web' as stream,
    sessions.session_id,
    sessions.event_count,
    web_counts.events
from {{ ref('web_sessions') }} as sessions
full outer join web_counts
    on sessions.session_id = web_counts.session_id
where sessions.event_count is distinct from web_counts.events
