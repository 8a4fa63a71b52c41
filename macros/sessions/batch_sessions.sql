{#
    CTEs `batch` (the staged events of this run, from `batch_sql`) and `batch_sessions` (the
    distinct sessions of `events_model` that hold a batch event: `columns`, session_start,
    session_end). The join reads only the batch's own event_date partitions.
    Returns the CTE text, or none when the batch is empty.
#}
{% macro lakehouse_batch_sessions(events_model, batch_sql, identity, columns, start_col, end_col) %}
    {%- set batch_ctes -%}
batch as (

    {{ batch_sql }}

)
    {%- endset -%}
    {%- set batch_dates = lakehouse_date_bounds(
        'with ' ~ batch_ctes ~ ' select min(event_date), max(event_date) from batch'
    ) -%}
    {%- if batch_dates is none -%}
        {% do return(none) %}
    {%- endif -%}
    {%- set ctes -%}
{{ batch_ctes }},

batch_sessions as (

    select distinct
        {% for c in columns %}events.{{ c }},
        {% endfor %}events.{{ start_col }} as session_start,
        events.{{ end_col }} as session_end
    from {{ events_model }} as events
    inner join batch
        on {% for c in identity %}events.{{ c }} <=> batch.{{ c }}{% if not loop.last %}
        and {% endif %}{% endfor %}
    where events.session_id is not null
        and events.event_date between {{ batch_dates.low }} and {{ batch_dates.high }}

)
    {%- endset -%}
    {% do return(ctes) %}
{% endmacro %}
