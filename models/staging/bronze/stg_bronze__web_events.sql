{{
    config(
        partition_by=['event_date'],
    )
}}

{%- set batch = lakehouse_bronze_batch_limits(source('bronze', 'web_events')) %}
{{ lakehouse_batch_marker(batch) }}

with

bronze as (

    {{ lakehouse_bronze_batch(source('bronze', 'web_events'), batch) }}

),

parsed as (

    select
        from_json(
            raw_value,
            'event_uuid string, url string, referrer string, user_agent string, headers string,
             host string, ip string, user_id string, event_time string'
        ) as event,
        from_json(
            enrichment,
            'country string, state string, city string, os string, browser string, device string'
        ) as enriched,
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
        event.url as url,
        event.referrer as referrer,
        event.user_agent as user_agent,
        -- headers arrive as a JSON object; keep them as sorted JSON text so identical
        -- payloads hash identically whatever the key order on the wire
        to_json(map_from_entries(array_sort(map_entries(
            from_json(event.headers, 'map<string, string>')
        )))) as headers,
        lower(event.host) as host,
        {{ lakehouse_anonymize_ip('event.ip') }} as ip,
        event.user_id as user_id,
        try_to_timestamp(event.event_time) as event_at,
        enriched.country as country,
        enriched.state as state,
        enriched.city as city,
        enriched.os as os,
        enriched.browser as browser,
        enriched.device as device,
        _ingested_at,
        _bronze_version,
        kafka_partition,
        kafka_offset,
        source_file
    from parsed

),

fingerprinted as (

    select
        *,
        sha2(
            to_json(named_struct(
                'url', url,
                'referrer', referrer,
                'user_agent', user_agent,
                'headers', headers,
                'host', host,
                'ip', ip,
                'user_id', user_id,
                'event_time', {{ lakehouse_iso_ms('event_at') }}
            )),
            256
        ) as payload_fingerprint
    from typed

),

identified as (

    select
        *,
        coalesce(event_uuid, payload_fingerprint) as identity_key,
        coalesce(
            {{ lakehouse_missing_key_reason(['host', 'ip']) }},
            case when user_id is not null and trim(user_id) = '' then 'missing_key:user_id' end,
            {{ lakehouse_bad_time_reason('event_at', '_ingested_at') }}
        ) as validation_reason
    from fingerprinted

),

first_arrivals as (

    {{ lakehouse_new_identities('identified') }}

),

final as (

    select
        event_key,
        event_uuid,
        payload_fingerprint,
        url,
        referrer,
        user_agent,
        headers,
        host,
        ip,
        user_id,
        user_id is not null as is_logged_in,
        country,
        state,
        city,
        os,
        browser,
        device,
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
