{{
    config(
        incremental_strategy='insert_new',
        unique_key='event_uuid',
        partition_by=['event_date'],
        prune_partitions='event_date',
        cache_source=true,
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
        event.event_uuid as event_uuid,
        event.event_type as event_type,
        try_to_timestamp(event.received_at) as received_at,
        event.player_id as player_id,
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
        _ingested_at,
        _bronze_version,
        kafka_partition,
        kafka_offset,
        source_file
    from parsed

),

first_arrivals as (

    select *
    from typed
    where event_uuid is not null
    {{ lakehouse_first_arrival('event_uuid') }}

),

final as (

    select
        event_uuid,
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
        _ingested_at,
        _bronze_version,
        {{ dbt.current_timestamp() }} as _staged_at
    from first_arrivals

)

select * from final
