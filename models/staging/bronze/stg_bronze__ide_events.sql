{{
    config(
        partition_by=['event_date'],
    )
}}

{%- set batch = lakehouse_bronze_batch_limits(source('bronze', 'ide_events')) %}
{{ lakehouse_batch_marker(batch) }}

with

bronze as (

    {{ lakehouse_bronze_batch(source('bronze', 'ide_events'), batch) }}

),

parsed as (

    select
        from_json(
            raw_value,
            'user_id string, event_id string, product_code string, timestamp string'
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
        event.user_id as user_id,
        event.event_id as event_id,
        event.product_code as product_code,
        try_to_timestamp(event.timestamp) as event_at,
        _ingested_at,
        _bronze_version,
        kafka_partition,
        kafka_offset,
        source_file
    from parsed

),

identified as (

    select
        sha2(
            to_json(named_struct(
                'user_id', user_id,
                'event_id', event_id,
                'product_code', product_code,
                'timestamp', {{ lakehouse_iso_ms('event_at') }}
            )),
            256
        ) as event_key,
        *,
        coalesce(
            {{ lakehouse_missing_key_reason(['user_id', 'product_code', 'event_id']) }},
            {{ lakehouse_bad_time_reason('event_at', '_ingested_at') }}
        ) as quarantine_reason
    from typed

),

first_arrivals as (

    select *
    from identified
    {{ lakehouse_first_arrival('event_key') }}

),

final as (

    select
        event_key,
        user_id,
        event_id,
        product_code,
        event_at,
        to_date(event_at) as event_date,
        quarantine_reason is not null as is_quarantined,
        quarantine_reason,
        _ingested_at,
        _bronze_version,
        {{ dbt.current_timestamp() }} as _staged_at
    from first_arrivals

)

select * from final
