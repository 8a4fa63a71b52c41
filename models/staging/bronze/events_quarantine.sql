{{ config(materialized='view') }}

with

bronze_malformed as (

    select
        topic,
        malformed_reason as reason,
        raw_value as record,
        _ingested_at
    from {{ source('bronze', 'web_events') }}
    where is_malformed
    union all
    select
        topic,
        malformed_reason as reason,
        raw_value as record,
        _ingested_at
    from {{ source('bronze', 'ide_events') }}
    where is_malformed
    union all
    select
        topic,
        malformed_reason as reason,
        raw_value as record,
        _ingested_at
    from {{ source('bronze', 'game_events') }}
    where is_malformed

),

web_quarantined as (

    select
        'web_events' as topic,
        quarantine_reason as reason,
        to_json(named_struct(
            'event_key', event_key, 'host', host, 'ip', ip, 'user_id', user_id,
            'event_at', event_at
        )) as record,
        _ingested_at
    from {{ ref('stg_bronze__web_events') }}
    where is_quarantined

),

ide_quarantined as (

    select
        'ide_events' as topic,
        quarantine_reason as reason,
        to_json(named_struct(
            'event_key', event_key, 'user_id', user_id, 'event_id', event_id,
            'product_code', product_code, 'event_at', event_at
        )) as record,
        _ingested_at
    from {{ ref('stg_bronze__ide_events') }}
    where is_quarantined

),

game_quarantined as (

    select
        'game_events' as topic,
        quarantine_reason as reason,
        to_json(named_struct(
            'event_key', event_key, 'event_uuid', event_uuid, 'event_type', event_type,
            'player_id', player_id, 'received_at', received_at
        )) as record,
        _ingested_at
    from {{ ref('stg_bronze__game_events') }}
    where is_quarantined

),

final as (

    select * from bronze_malformed
    union all
    select * from web_quarantined
    union all
    select * from ide_quarantined
    union all
    select * from game_quarantined

)

select * from final
