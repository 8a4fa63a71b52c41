{#
    Rows of one key never overlap: for each key, ordered by start, every row ends no later
    than the next one starts. Returns the offending pairs.
#}
{% test no_overlapping_intervals(model, key_columns, start_column, end_column) %}

with

ordered as (

    select
        {{ key_columns | join(', ') }},
        {{ start_column }} as interval_start,
        {{ end_column }} as interval_end,
        lead({{ start_column }}) over (
            partition by {{ key_columns | join(', ') }}
            order by {{ start_column }}
        ) as next_start
    from {{ model }}

)

select *
from ordered
where next_start is not null
    and interval_end > next_start

{% endtest %}
