{#-
    This run's web events: the staged, well-formed events whose bronze version lies in the
    run's batch (after the lowest watermark of the models downstream, up to how far staging
    has read). `_bronze_version` has exact Delta statistics, so only the files of the
    staging commits in the batch are opened.
-#}
{%- set batch = lakehouse_run_batch(ref('stg_bronze__web_events')) %}
{{ lakehouse_batch_marker(batch) }}

with

staged as (

    select *
    from {{ ref('stg_bronze__web_events') }}
    where {{ lakehouse_batch_filter(batch) }}

),

final as (

    select
        event_key,
        host,
        ip,
        user_id,
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
        _bronze_version
    from staged
    where not is_quarantined

)

select * from final
