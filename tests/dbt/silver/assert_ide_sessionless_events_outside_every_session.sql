-- Invariant: an IDE event without a session lies outside every session of its
-- (user_id, product_code). Returns the events that should have had one.

select events.*
from {{ ref('ide_events_sessionized') }} as events
inner join {{ ref('ide_sessions') }} as sessions
    on events.user_id = sessions.user_id
    and events.product_code = sessions.product_code
    and events.`timestamp` >= sessions.session_start_ts
    and events.`timestamp` < sessions.session_end_ts
where events.session_id is null
