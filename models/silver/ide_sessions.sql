-- depends_on: {{ ref('int_ide_events_resessionized') }}
-- depends_on: {{ ref('int_ide_session_windows') }}
{{
    config(
        incremental_strategy='upsert',
        unique_key='session_id',
        partition_by=['session_date'],
        prune_partitions='session_date',
        delete_when='@is_superseded',
    )
}}

{#-
    One row per IDE session. Incremental: the sessions of this run's windows that hold a
    changed event, re-aggregated, and the sessions they supersede deleted by id (MERGE on
    session_id, pruned to the dates of both). When this model is in step with the events
    model, the superseded ids are the windows' previous session ids; after a run that
    skipped this model they are found by overlap with the windows instead, and every session
    of the windows is re-aggregated.
-#}
{%- set plan = lakehouse_sessions_plan(
    ref('int_ide_events_resessionized'),
    ref('ide_events_sessionized'),
    ref('int_ide_session_windows'),
) -%}
{%- set batch, in_step, window_dates = plan.batch, plan.in_step, plan.window_dates -%}
{%- set columns = [
    'session_id', 'user_id', 'product_code', 'session_start_ts', 'session_end_ts',
    'last_action_ts', 'duration_seconds', 'user_action_count', 'event_count', 'session_date',
    'is_session_cut', 'is_runaway',
] %}
{%- if is_incremental() and not batch.empty -%}
{%- do lakehouse_require_columns(this, columns) -%}
{%- endif %}
{{ lakehouse_batch_marker(batch) }}

with

{% if is_incremental() -%}
window_events as (

    select * from {{ ref('int_ide_events_resessionized') }}

),

session_events as (

    {{ lakehouse_changed_session_events('window_events', in_step) }}

),
{%- else -%}
user_actions as (

    select event_id from {{ ref('ide_user_actions') }}

),

session_events as (

    select
        events.*,
        user_actions.event_id is not null as is_action
    from {{ ref('ide_events_sessionized') }} as events
    left join user_actions
        on events.event_id = user_actions.event_id
    where events.session_id is not null

),
{%- endif %}

aggregated as (

    select
        session_id,
        user_id,
        product_code,
        min(session_start_ts) as session_start_ts,
        min(session_end_ts) as session_end_ts,
        max(case when is_action then `timestamp` end) as last_action_ts,
        cast(
            (
                unix_millis(max(case when is_action then `timestamp` end))
                - unix_millis(min(session_start_ts))
            ) / 1000.0 as decimal(18, 3)
        ) as duration_seconds,
        count_if(is_action) as user_action_count,
        count(*) as event_count,
        to_date(min(session_start_ts)) as session_date,
        -- it starts at a cut, or ends at one (before its last action + G)
        bool_or(is_cut_start)
        or min(session_end_ts) < max(case when is_action then `timestamp` end)
        + interval {{ var('sessions__gap_seconds') }} seconds as is_session_cut
    from session_events
    group by session_id, user_id, product_code

),

sessions as (

    select
        *,
        {{ lakehouse_is_runaway(
            'event_count', 'duration_seconds', 'is_session_cut'
        ) }} as is_runaway
    from aggregated

),

{% if is_incremental() -%}
superseded as (

    {{ lakehouse_superseded_sessions(
        'window_events',
        ref('int_ide_session_windows'),
        this,
        ['user_id', 'product_code'],
        'session_start_ts',
        'session_end_ts',
        in_step,
        window_dates,
    ) }}

),

final as (

    select
        *,
        false as is_superseded
    from sessions
    union all
    {{ lakehouse_superseded_rows('superseded', columns) }}

)
{%- else -%}
final as (

    select * from sessions

)
{%- endif %}

select * from final
