{{
    config(
        incremental_strategy='upsert',
        unique_key=['user_id', 'event_id', 'product_code', 'timestamp'],
        partition_by=['event_date'],
        prune_partitions={'column': 'event_date', 'low': 'event_date', 'high': 'event_date'},
        post_hook="{{ lakehouse_mark_staged_through(ref('stg_bronze__ide_events')) }}",
    )
}}

{#- Sessions per (user_id, product_code); only the seed's user actions start or extend one. -#}
{%- set batch = lakehouse_staged_batch(ref('stg_bronze__ide_events')) -%}

{%- set staged_ctes -%}
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
        and {{ lakehouse_staged_filter(batch) }}

)
{%- if is_incremental() %},

existing as (

    select
        this.user_id,
        this.event_id,
        this.product_code,
        this.`timestamp`,
        this.event_date,
        user_actions.event_id is not null as is_action,
        this.session_start_ts,
        this.session_end_ts
    from {{ this }} as this
    left join user_actions
        on this.event_id = user_actions.event_id

)
{%- endif -%}
{%- endset %}

with

{{ sessionize_incrementally(
    staged_ctes,
    columns=['user_id', 'event_id', 'product_code', '`timestamp`', 'event_date'],
    key_columns=['user_id', 'product_code'],
    ts='`timestamp`',
    identity=['user_id', 'event_id', 'product_code', '`timestamp`'],
) }},

final as (

    select
        user_id,
        event_id,
        product_code,
        `timestamp`,
        event_date,
        session_start_ts,
        session_end_ts,
        case
            when session_start_ts is not null
                then concat_ws('#', user_id, product_code, {{ lakehouse_iso_ms('session_start_ts') }})
        end as session_id
    from sessionized

)

select * from final
