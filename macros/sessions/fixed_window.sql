{#
    The benchmark's baseline (var sessions__recompute: fixed_window), the approach published
    batch jobs take: every event of the batch's keys in the last sessions__fixed_window_days
    days is recomputed, instead of only the windows the batch touches. Wrong for data later
    than the window; here only so the benchmark can compare. Returns a whole select of
    (key columns, window_start, window_end), one window per key of `batch`.
#}
{% macro lakehouse_fixed_windows(batch, key_columns, ts) %}
    {%- set keys = key_columns | join(', ') -%}
    select
        {{ keys }},
        timestamp(date_sub(max(to_date({{ ts }})) over (), {{ var('sessions__fixed_window_days') - 1 }})) as window_start,
        timestamp(date_add(max(to_date({{ ts }})) over (), 1)) as window_end
    from {{ batch }}
    qualify row_number() over (partition by {{ keys }} order by {{ ts }}) = 1
{%- endmacro %}


{# True when the run recomputes a fixed window (var sessions__recompute: the benchmark's baseline). #}
{% macro lakehouse_fixed_window() -%}
    {%- set mode = var('sessions__recompute') -%}
    {%- if mode not in ['exact', 'fixed_window'] -%}
        {% do exceptions.raise_compiler_error(
            "var sessions__recompute must be 'exact' or 'fixed_window', got '" ~ mode ~ "'") %}
    {%- endif -%}
    {{ return(mode == 'fixed_window') }}
{%- endmacro %}
