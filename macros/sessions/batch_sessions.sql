{#
    CTEs `batch` (the staged events of this run, from `batch_sql`) and `batch_sessions` (the
    distinct sessions of `events_model` that hold a batch event: `columns`, session_start,
    session_end). The join reads only the batch's own event_date partitions.
    With `key_columns` and the var sessions__recompute = fixed_window (the benchmark's
    baseline), every session of a batch key since the fixed window's start instead.
    Returns the CTE text, or none when the batch is empty.
#}
{% macro lakehouse_batch_sessions(events_model, batch_sql, identity, columns, start_col, end_col, key_columns=none) %}
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
    {%- if key_columns and lakehouse_fixed_window() %}
    inner join (select distinct {{ key_columns | join(', ') }} from batch) as batch
        on {% for c in key_columns %}events.{{ c }} <=> batch.{{ c }}{% if not loop.last %}
        and {% endif %}{% endfor %}
    where events.session_id is not null
        and events.event_date >= {{ lakehouse_fixed_window_start(batch_dates.high) }}
    {%- else %}
    inner join batch
        on {% for c in identity %}events.{{ c }} <=> batch.{{ c }}{% if not loop.last %}
        and {% endif %}{% endfor %}
    where events.session_id is not null
        and events.event_date between {{ batch_dates.low }} and {{ batch_dates.high }}
    {%- endif %}

)
    {%- endset -%}
    {% do return(ctes) %}
{% endmacro %}


{# True when the run recomputes a fixed window (var sessions__recompute: the benchmark's baseline). #}
{% macro lakehouse_fixed_window() -%}
    {%- set mode = var('sessions__recompute') -%}
    {%- if mode not in ['exact', 'fixed_window'] -%}
        {% do exceptions.raise_compiler_error(
            "var sessions__recompute must be 'exact' or 'fixed_window', got '" ~ mode ~ "'") %}
    {%- endif -%}
    {{ return(mode == 'fixed_window') }}
{%- endmacro %}


{# SQL for the first day of the fixed window that ends on the date expression `last_day`. #}
{% macro lakehouse_fixed_window_start(last_day) -%}
    date_sub({{ last_day }}, {{ var('sessions__fixed_window_days') - 1 }})
{%- endmacro %}
