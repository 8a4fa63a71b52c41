{{
    config(
        incremental_strategy='upsert',
        unique_key=['item_type', 'purchase_date'],
        partition_by=['purchase_date'],
        prune_partitions='purchase_date',
    )
}}

{#-
    Purchases per item type and day. Incremental: only the (item, day) rows the staged
    purchases after this model's watermark fall on, recounted from staging on those days.
-#}
{%- set batch = lakehouse_staged_batch(ref('stg_bronze__game_events')) -%}
{%- set days = none -%}
{%- if is_incremental() and not batch.empty -%}
{%- set days = lakehouse_date_list(
    'select event_date from ' ~ ref('stg_bronze__game_events')
    ~ " where event_type = 'purchase' and not is_quarantined and " ~ lakehouse_batch_filter(batch)
) -%}
{%- endif %}
{{ lakehouse_batch_marker(batch) }}

with

purchases as (

    select * from {{ ref('stg_bronze__game_events') }}
    where event_type = 'purchase'
        and not is_quarantined
        and {{ lakehouse_batch_filter(dict(batch, low=none)) }}

),

{% if is_incremental() -%}
touched as (

    select distinct
        item_type,
        event_date
    from purchases
    where {{ lakehouse_batch_filter(batch) }}

),

scoped as (

    select purchases.*
    from purchases
    left semi join touched
        on purchases.item_type = touched.item_type
        and purchases.event_date = touched.event_date
    where {{ lakehouse_in_dates('purchases.event_date', days) }}

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
