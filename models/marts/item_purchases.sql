{{
    config(
        incremental_strategy='upsert',
        unique_key=['item_type', 'purchase_date'],
        post_hook="{{ lakehouse_mark_staged_through(ref('stg_bronze__game_events')) }}",
    )
}}

{#- Purchases per item type and day. Incremental: only the (item, day) rows the batch holds. -#}
{%- set batch = lakehouse_staged_batch(ref('stg_bronze__game_events')) %}

with

purchases as (

    select * from {{ ref('stg_bronze__game_events') }}
    where event_type = 'purchase'

),

{% if is_incremental() -%}
touched as (

    select distinct item_type, event_date
    from purchases
    where {{ lakehouse_staged_filter(batch) }}

),

scoped as (

    select purchases.*
    from purchases
    left semi join touched
        on purchases.item_type = touched.item_type
        and purchases.event_date = touched.event_date

),
{%- else -%}
scoped as (

    select * from purchases

),
{%- endif %}

final as (

    select
        item_type,
        event_date as purchase_date,
        count(*) as purchases,
        sum(quantity) as quantity,
        cast(sum(price * quantity) as decimal(18, 2)) as revenue
    from scoped
    group by item_type, event_date

)

select * from final
