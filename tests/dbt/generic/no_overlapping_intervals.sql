{#
    Rows of one key never overlap: for each key, ordered by start, every row ends no later
    than the next one starts. Returns the offending pairs. With `distinct_intervals`, rows
    that repeat one interval count once (the windows that every event of them carries).
#}
{% test no_overlapping_intervals(
    model, key_columns, start_column, end_column, distinct_intervals=false
) %}

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
    {%- if distinct_intervals %}
    where {{ start_column }} is not null
    group by {{ key_columns | join(', ') }}, {{ start_column }}, {{ end_column }}
    {%- endif %}

)

select *
from ordered
where next_start is not null
    and interval_end > next_start

{% endtest %}
