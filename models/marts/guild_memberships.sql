{{ config(materialized='table') }}

{#- Per guild and day: joins, players joining for the first time, and members so far. -#}

with

joins as (

    select
        player_id,
        guild_name,
        received_at,
        event_date
    from {{ ref('stg_bronze__game_events') }}
    where event_type = 'guild_join'
        and not is_quarantined

),

first_joins as (

    select
        guild_name,
        player_id,
        min(event_date) as first_join_date
    from joins
    group by guild_name, player_id

),

daily as (

    select
        guild_name,
        event_date as join_date,
        count(*) as joins
    from joins
    group by guild_name, event_date

),

new_members as (

    select
        guild_name,
        first_join_date as join_date,
        count(*) as new_members
    from first_joins
    group by guild_name, first_join_date

),

final as (

    select
        daily.guild_name,
        daily.join_date,
        daily.joins,
        coalesce(new_members.new_members, 0) as new_members,
        sum(coalesce(new_members.new_members, 0)) over (
            partition by daily.guild_name
            order by daily.join_date
            rows between unbounded preceding and current row
        ) as members
    from daily
    left join new_members
        on daily.guild_name = new_members.guild_name
        and daily.join_date = new_members.join_date

)

select * from final
