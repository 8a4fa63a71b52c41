{# The order records arrived in: the first arrival of an identity is the one kept. #}
{% macro lakehouse_arrival_order() -%}
    _ingested_at, source_file, kafka_partition, kafka_offset
{%- endmacro %}


{# Keep the first arrival of each `key` within the batch: re-deliveries and re-reads drop out. #}
{% macro lakehouse_first_arrival(key) -%}
    qualify row_number() over (
        partition by {{ key }}
        order by {{ lakehouse_arrival_order() }}
    ) = 1
{%- endmacro %}


{#
    The rows of `identified` that are new, across all dates, with their `event_key` and
    `quarantine_reason`. `identified` is a CTE with `identity_key` (the event's identity),
    `payload_fingerprint` (the SHA-256 of what the event says) and `validation_reason` (why
    the event cannot be used, or null), besides the bronze arrival columns:

    - a re-delivery (same identity, same fingerprint as the stored event or as the batch's
      first arrival) drops out, whatever its date;
    - a reused identity with another payload is kept under a key of its own
      (`sha2(event_key/payload_fingerprint)`) with quarantine reason `reused_event_id`, so it
      is listed in `events_quarantine` instead of being dropped or counted twice.

    Incremental runs look the batch's identities up in the model's own table: a semi join
    that reads only the `event_key` and `payload_fingerprint` columns, whatever the dates.
#}
{% macro lakehouse_new_identities(identified) %}
    {%- set incremental = is_incremental() %}
    with

    keyed as (

        select
            *,
            sha2(concat(identity_key, '/', payload_fingerprint), 256) as conflict_key
        from {{ identified }}

    ),

    {% if incremental -%}
    batch_keys as (

        select identity_key as lookup_key from keyed
        union
        select conflict_key as lookup_key from keyed

    ),

    stored as (

        select
            event_key as stored_key,
            payload_fingerprint as stored_fingerprint
        from {{ this }}
        left semi join batch_keys on {{ this }}.event_key = batch_keys.lookup_key

    ),

    {% endif -%}
    referenced as (

        select
            keyed.*,
            coalesce(
                {%- if incremental %}
                stored.stored_fingerprint,
                {%- endif %}
                first_value(keyed.payload_fingerprint) over (
                    partition by keyed.identity_key order by {{ lakehouse_arrival_order() }}
                )
            ) as reference_fingerprint
        from keyed
        {%- if incremental %}
        left join stored on keyed.identity_key = stored.stored_key
        {%- endif %}

    ),

    resolved as (

        select
            *,
            case
                when payload_fingerprint = reference_fingerprint then identity_key
                else conflict_key
            end as event_key,
            case
                when payload_fingerprint = reference_fingerprint then validation_reason
                else 'reused_event_id'
            end as quarantine_reason
        from referenced

    )

    select resolved.*
    from resolved
    {%- if incremental %}
    left anti join stored on resolved.event_key = stored.stored_key
    {%- endif %}
    {{ lakehouse_first_arrival('resolved.event_key') }}
{% endmacro %}
