{#-
    Every IDE event inside this run's windows, sessionized anew: the stored ones (as they
    were before this run, with the session they had) and the batch's. `is_changed` marks the
    rows the events model must write; `previous_session_id` names the sessions they leave
    behind. A window holds whole sessions, IDE-generated events inside them included.
-#}
{%- set stored = lakehouse_stored('ide_events_sessionized') -%}
{%- set batch = lakehouse_inherited_batch(ref('int_ide_session_windows')) -%}
{%- set window_dates = none -%}
{%- if stored is not none and not batch.empty -%}
{%- do lakehouse_require_columns(stored, ['is_cut_start']) -%}
{#- the stored events' mark, when their table holds exactly that state (lets the
    sessions model delete superseded sessions by their ids) -#}
{%- set batch = dict(batch, stored_mark=lakehouse_settled_mark(stored)) -%}
{%- set window_dates = lakehouse_window_dates(ref('int_ide_session_windows')) -%}
{%- endif -%}
{%- set columns = [
    'user_id', 'event_id', 'product_code', '`timestamp`', 'event_date', 'is_action',
] %}
{{ lakehouse_batch_marker(batch) }}

with

user_actions as (

    select event_id from {{ ref('ide_user_actions') }}

),

batch as (

    select
        {{ columns | join(',\n        ') }},
        cast(null as string) as previous_session_id,
        cast(null as timestamp) as previous_session_start_ts,
        cast(null as timestamp) as previous_session_end_ts,
        cast(null as boolean) as previous_is_cut_start,
        false as is_stored
    from {{ ref('int_ide_events_batched') }}

),

windows as (

    select * from {{ ref('int_ide_session_windows') }}

),

stored_in_windows as (

    {%- if stored is none %}

    select * from batch
    where false
    {%- else %}

    select
        stored.user_id,
        stored.event_id,
        stored.product_code,
        stored.`timestamp`,
        stored.event_date,
        user_actions.event_id is not null as is_action,
        stored.session_id as previous_session_id,
        stored.session_start_ts as previous_session_start_ts,
        stored.session_end_ts as previous_session_end_ts,
        stored.is_cut_start as previous_is_cut_start,
        true as is_stored
    from {{ stored }} as stored
    inner join windows
        on {{ lakehouse_key_match(['user_id', 'product_code'], 'stored', 'windows') }}
        and stored.`timestamp` >= windows.window_start
        and stored.`timestamp` < windows.window_end
    left join user_actions
        on stored.event_id = user_actions.event_id
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
    qualify
        row_number() over (
            partition by user_id, event_id, product_code, `timestamp`
            order by is_stored desc
        ) = 1

),

anchors as (

    -- what the window's edges hold from outside it: each stored session's start (a first
    -- activity, or a cut), and each end that is a cut (before its last activity + G)
    select
        user_id,
        product_code,
        previous_session_start_ts as `timestamp`,
        previous_is_cut_start as is_cut
    from stored_in_windows
    where previous_session_id is not null
    union
    select
        user_id,
        product_code,
        previous_session_end_ts as `timestamp`,
        true as is_cut
    from stored_in_windows
    where previous_session_id is not null
    group by user_id, product_code, previous_session_id, previous_session_end_ts
    having max(case when is_action then `timestamp` end)
        + interval {{ var('sessions__gap_seconds') }} seconds > previous_session_end_ts

),

sessionized as (

    {{ sessionize(
        'deduplicated', ['user_id', 'product_code'], '`timestamp`', 'is_action', 'anchors'
    ) }}

),

identified as (

    select
        *,
        {{ lakehouse_ide_session_id('session_start_ts') }} as session_id
    from sessionized

),

final as (

    select
        user_id,
        event_id,
        product_code,
        `timestamp`,
        event_date,
        session_start_ts,
        session_end_ts,
        session_id,
        is_cut_start,
        is_action,
        previous_session_id,
        previous_session_start_ts,
        is_stored,
        (
            not is_stored
            or not (
                previous_session_id <=> session_id
                and previous_session_end_ts <=> session_end_ts
                and previous_is_cut_start <=> is_cut_start
            )
        ) as is_changed
    from identified

)

select * from final
