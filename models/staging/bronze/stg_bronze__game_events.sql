{{
    config(
        partition_by=['event_date'],
    )
}}

{%- set batch = lakehouse_bronze_batch_limits(source('bronze', 'game_events')) %}
{{ lakehouse_batch_marker(batch) }}

with

bronze as (

    {{ lakehouse_bronze_batch(source('bronze', 'game_events'), batch) }}

),

parsed as (

    select
        raw_value,
        from_json(
            raw_value,
            'event_uuid string, event_type string, received_at string, player_id string,
             item_type string, price string, quantity string, guild_name string,
             treasure_type string, gold string, enemy_type string, damage string, xp string,
             potion_type string, health_restored string, new_level string'
        ) as event,
        _ingested_at,
        _bronze_version,
        kafka_partition,
        kafka_offset,
        source_file
    from bronze

),

typed as (

    select
        nullif(trim(event.event_uuid), '') as event_uuid,
        event.event_type as event_type,
        try_to_timestamp(event.received_at) as received_at,
        nullif(trim(event.player_id), '') as player_id,
        event.item_type as item_type,
        try_cast(event.price as decimal(12, 2)) as price,
        try_cast(event.quantity as int) as quantity,
        event.guild_name as guild_name,
        event.treasure_type as treasure_type,
        try_cast(event.gold as int) as gold,
        event.enemy_type as enemy_type,
        try_cast(event.damage as int) as damage,
        try_cast(event.xp as int) as xp,
        event.potion_type as potion_type,
        try_cast(event.health_restored as int) as health_restored,
        try_cast(event.new_level as int) as new_level,
        event,
        raw_value,
        _ingested_at,
        _bronze_version,
        kafka_partition,
        kafka_offset,
        source_file
    from parsed

),

identified as (

    select
        *,
        coalesce(event_uuid, sha2(raw_value, 256)) as identity_key,
        -- what the client said: a retry (same Idempotency-Key, so the same event_uuid) is
        -- received at another time and still the same event
        sha2(to_json(named_struct(
            'event_type', event_type,
            'player_id', player_id,
            'item_type', item_type,
            'price', cast(price as string),
            'quantity', quantity,
            'guild_name', guild_name,
            'treasure_type', treasure_type,
            'gold', gold,
            'enemy_type', enemy_type,
            'damage', damage,
            'xp', xp,
            'potion_type', potion_type,
            'health_restored', health_restored,
            'new_level', new_level
        )), 256) as payload_fingerprint,
        coalesce(
            {{ lakehouse_missing_key_reason(['event_uuid', 'player_id']) }},
            {{ lakehouse_game_event_reason('event', 'event_type') }},
            {{ lakehouse_bad_time_reason('received_at', '_ingested_at') }}
        ) as validation_reason
    from typed

),

first_arrivals as (

    {{ lakehouse_new_identities('identified') }}

),

final as (

    select
        event_key,
        event_uuid,
        payload_fingerprint,
        event_type,
        received_at,
        to_date(received_at) as event_date,
        player_id,
        item_type,
        price,
        quantity,
        guild_name,
        treasure_type,
        gold,
        enemy_type,
        damage,
        xp,
        potion_type,
        health_restored,
        new_level,
        quarantine_reason is not null as is_quarantined,
        quarantine_reason,
        _ingested_at,
        _bronze_version,
        {{ dbt.current_timestamp() }} as _staged_at
    from first_arrivals

)

select * from final
