{{
    config(
        incremental_strategy='upsert',
        unique_key='event_key',
        partition_by=['event_date'],
        prune_partitions={'column': 'event_date', 'low': 'event_date', 'high': 'event_date'},
        post_hook="{{ lakehouse_mark_staged_through(ref('stg_bronze__web_events')) }}",
    )
}}

{#- Sessions per (host, ip, user_id); a logged-out visitor (null user_id) is a key of its own. -#}
{%- set batch = lakehouse_staged_batch(ref('stg_bronze__web_events')) -%}
{%- set columns = [
    'event_key', 'host', 'ip', 'user_id', 'url', 'referrer', 'user_agent',
    'country', 'state', 'city', 'os', 'browser', 'device', 'event_at', 'event_date',
] -%}

{%- set staged_ctes -%}
staged as (

    select {{ columns | join(', ') }}, true as is_action
    from {{ ref('stg_bronze__web_events') }}
    where not is_quarantined
        and {{ lakehouse_staged_filter(batch) }}

)
{%- if is_incremental() %},

existing as (

    select
        {{ columns | join(', ') }},
        true as is_action,
        session_start_at as session_start_ts,
        session_end_at as session_end_ts
    from {{ this }}

)
{%- endif -%}
{%- endset %}

with

{{ sessionize_incrementally(
    staged_ctes,
    columns=columns,
    key_columns=['host', 'ip', 'user_id'],
    ts='event_at',
    identity=['event_key'],
) }},

final as (

    select
        event_key,
        -- sha2 over the JSON of the key and the start: deterministic, 256-bit, and a null
        -- user_id (logged out) stays distinct from any user
        sha2(
            to_json(named_struct(
                'host', host,
                'ip', ip,
                'user_id', user_id,
                'session_start', {{ lakehouse_iso_ms('session_start_ts') }}
            )),
            256
        ) as session_id,
        host,
        ip,
        user_id,
        user_id is not null as is_logged_in,
        url,
        referrer,
        user_agent,
        country,
        state,
        city,
        os,
        browser,
        device,
        event_at,
        event_date,
        session_start_ts as session_start_at,
        session_end_ts as session_end_at
    from sessionized

)

select * from final
