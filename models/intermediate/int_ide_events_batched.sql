{#-
    This run's IDE events: the staged, well-formed events whose bronze version lies in the
    run's batch, flagged user actions (the seed's event ids) or IDE-generated.
-#}
{%- set batch = lakehouse_run_batch(ref('stg_bronze__ide_events')) %}
{{ lakehouse_batch_marker(batch) }}

with

staged as (

    select *
    from {{ ref('stg_bronze__ide_events') }}
    where {{ lakehouse_batch_filter(batch) }}

),

user_actions as (

    select event_id from {{ ref('ide_user_actions') }}

),

final as (

    select
        staged.user_id,
        staged.event_id,
        staged.product_code,
        staged.event_at as `timestamp`,
        staged.event_date,
        user_actions.event_id is not null as is_action,
        staged._bronze_version
    from staged
    left join user_actions
        on staged.event_id = user_actions.event_id
    where not staged.is_quarantined

)

select * from final
