-- depends_on: {{ ref('int_ide_events_resessionized') }}
{{
    config(
        incremental_strategy='upsert',
        unique_key=['user_id', 'event_id', 'product_code', '`timestamp`'],
        partition_by=['event_date'],
        prune_partitions='event_date',
    )
}}

{#-
    Sessions per (user_id, product_code); only the seed's user actions start or extend one.
    Incremental: the rows of this run's windows that changed (int_ide_events_resessionized).
    Full refresh: every staged event, sessionized at once.
-#}
{%- set batch = lakehouse_consumer_batch(
    ref('int_ide_events_resessionized'),
    lakehouse_staged_mark(ref('stg_bronze__ide_events')),
) -%}
{%- set columns = [
    'user_id', 'event_id', 'product_code', '`timestamp`', 'event_date',
    'session_start_ts', 'session_end_ts', 'session_id', 'is_cut_start',
] %}
{{ lakehouse_batch_marker(batch) }}

with

{% if is_incremental() -%}
changed as (

    select {{ columns | join(', ') }}
    from {{ ref('int_ide_events_resessionized') }}
    where is_changed

),

final as (

    select * from changed

)
{%- else -%}
user_actions as (

    select event_id from {{ ref('ide_user_actions') }}

),

staged as (

    select
        stg.user_id,
        stg.event_id,
        stg.product_code,
        stg.event_at as `timestamp`,
        stg.event_date,
        user_actions.event_id is not null as is_action
    from {{ ref('stg_bronze__ide_events') }} as stg
    left join user_actions
        on stg.event_id = user_actions.event_id
    where not stg.is_quarantined
        and {{ lakehouse_batch_filter(batch, 'stg._bronze_version') }}

),

sessionized as (

    {{ sessionize('staged', ['user_id', 'product_code'], '`timestamp`', 'is_action') }}

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
        {{ lakehouse_ide_session_id('session_start_ts') }} as session_id,
        is_cut_start
    from sessionized

)
{%- endif %}

select * from final
