-- Invariant: an IDE event carries a session exactly when its time lies inside that
-- session's [session_start_ts, session_end_ts), and the bounds it carries are the session's.
-- Returns the events that break it.

with

events as (

    select * from {{ ref('ide_events_sessionized') }}

),

sessions as (

    select * from {{ ref('ide_sessions') }}

)

select events.*
from events
left join sessions
    on events.session_id = sessions.session_id
where events.session_id is not null
    and (
        sessions.session_id is null
        or events.`timestamp` < sessions.session_start_ts
        or events.`timestamp` >= sessions.session_end_ts
        or events.session_start_ts != sessions.session_start_ts
        or events.session_end_ts != sessions.session_end_ts
    )
