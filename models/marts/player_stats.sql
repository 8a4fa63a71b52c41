{{ config(materialized='table') }}

{#- Per player: level, purchases, treasures, potions, and the rest of their gameplay. -#}

with

events as (

    select * from {{ ref('stg_bronze__game_events') }}
    where not is_quarantined

),

final as (

    select
        player_id,
        greatest(coalesce(max(new_level), 1), 1) as level,
        count_if(event_type = 'purchase') as purchases,
        cast(
            coalesce(sum(case when event_type = 'purchase' then price * quantity end), 0)
            as decimal(18, 2)
        ) as amount_spent,
        count_if(event_type = 'treasure_found') as treasures_found,
        coalesce(sum(gold), 0) as gold_found,
        count_if(event_type = 'potion_taken') as potions_taken,
        count_if(event_type = 'enemy_defeated') as enemies_defeated,
        count_if(event_type = 'enemy_attack') as attacks_taken,
        count_if(event_type = 'guild_join') as guild_joins,
        min(received_at) as first_seen_at,
        max(received_at) as last_seen_at
    from events
    group by player_id

)

select * from final
