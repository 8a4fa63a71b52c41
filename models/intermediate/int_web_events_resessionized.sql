{#-
    Every web event inside this run's windows, sessionized anew: the stored ones (as they
    were before this run, with the session they had) and the batch's. `is_changed` marks the
    rows the events model must write (a new event, or a stored one whose session moved,
    merged or grew); `previous_session_id` names the sessions they leave behind. A window
    holds whole sessions, so the sessions model aggregates them from here alone.
-#}
{%- set stored = lakehouse_stored('web_events_sessionized') -%}
{%- set batch = lakehouse_inherited_batch(ref('int_web_session_windows')) -%}
{%- set window_dates = none -%}
{%- if stored is not none and not batch.empty -%}
{%- do lakehouse_require_columns(stored, ['is_cut_start']) -%}
{#- the stored events' mark, when their table holds exactly that state (lets the
    sessions model delete superseded sessions by their ids) -#}
{%- set batch = dict(batch, stored_mark=lakehouse_settled_mark(stored)) -%}
{%- set window_dates = lakehouse_window_dates(ref('int_web_session_windows')) -%}
{%- endif -%}
{%- set columns = [
    'event_key', 'host', 'ip', 'user_id', 'url', 'referrer', 'user_agent',
    'country', 'state', 'city', 'os', 'browser', 'device', 'event_at', 'event_date',
] %}
{{ lakehouse_batch_marker(batch) }}

with

batch as (

    select
        {{ columns | join(',\n        ') }},
        cast(null as string) as previous_session_id,
        cast(null as timestamp) as previous_session_start_at,
        cast(null as timestamp) as previous_session_end_at,
        cast(null as boolean) as previous_is_cut_start,
        false as is_stored
    from {{ ref('int_web_events_batched') }}

),

windows as (

    select * from {{ ref('int_web_session_windows') }}

),

stored_in_windows as (

    {%- if stored is none %}

    select * from batch
    where false
    {%- else %}

    select
        {%- for c in columns %}
        stored.{{ c }},
        {%- endfor %}
        stored.session_id as previous_session_id,
        stored.session_start_at as previous_session_start_at,
        stored.session_end_at as previous_session_end_at,
        stored.is_cut_start as previous_is_cut_start,
        true as is_stored
    from {{ stored }} as stored
    inner join windows
        on {{ lakehouse_key_match(['host', 'ip', 'user_id'], 'stored', 'windows') }}
        and stored.event_at >= windows.window_start
        and stored.event_at < windows.window_end
    where {{ lakehouse_in_dates('stored.event_date', window_dates) }}
    {%- endif %}

),

window_events as (

    select * from stored_in_windows
    union all
    select * from batch

),

deduplicated as (

    -- an event delivered again, or staged again after an interrupted run, is stored
    -- already: keep the stored row, so it counts as changed only if its session did
    select *
    from window_events
    qualify row_number() over (partition by event_key order by is_stored desc) = 1

),

anchors as (

    -- what the window's edges hold from outside it: each stored session's start (a first
    -- activity, or a cut), and each end that is a cut (before its last activity + G)
    select
        host,
        ip,
        user_id,
        previous_session_start_at as event_at,
        previous_is_cut_start as is_cut
    from stored_in_windows
    where previous_session_id is not null
    union
    select
        host,
        ip,
        user_id,
        previous_session_end_at as event_at,
        true as is_cut
    from stored_in_windows
    where previous_session_id is not null
    group by host, ip, user_id, previous_session_id, previous_session_end_at
    having max(event_at) + interval {{ var('sessions__gap_seconds') }} seconds
        > previous_session_end_at

),

sessionized as (

    {{ sessionize('deduplicated', ['host', 'ip', 'user_id'], 'event_at', 'true', 'anchors') }}

),

identified as (

    select
        *,
        {{ lakehouse_web_session_id('session_start_ts') }} as session_id
    from sessionized

),

final as (

    select
        event_key,
        session_id,
        host,
        ip,
        user_id,
        user_id is not null as is_logged_in,
        url,
        referrer,
        user_agent,
        country,
        state,
        city,
        os,
        browser,
        device,
        event_at,
        event_date,
        session_start_ts as session_start_at,
        session_end_ts as session_end_at,
        is_cut_start,
        previous_session_id,
        previous_session_start_at,
        is_stored,
        (
            not is_stored
            or not (
                previous_session_id <=> session_id
                and previous_session_end_at <=> session_end_ts
                and previous_is_cut_start <=> is_cut_start
            )
        ) as is_changed
    from identified

)

select * from final
