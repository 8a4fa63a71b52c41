{# Why an event's time is absurd (before quality__min_event_date, or too far after it landed), or null. #}
{% macro lakehouse_bad_time_reason(event_at, ingested_at) -%}
    case
        when {{ event_at }} is null then 'unparseable_timestamp'
        when {{ event_at }} < timestamp'{{ var("quality__min_event_date") }} 00:00:00'
            then 'timestamp_before_{{ var("quality__min_event_date")[:4] }}'
        when {{ event_at }} > {{ ingested_at }} + interval {{ var("quality__max_future_hours") }} hours
            then 'timestamp_in_future'
    end
{%- endmacro %}

{# 'missing_key:<column>' for the first of `columns` that is null or blank, or null. #}
{% macro lakehouse_missing_key_reason(columns) -%}
    case
        {%- for c in columns %}
        when {{ c }} is null or trim({{ c }}) = '' then 'missing_key:{{ c }}'
        {%- endfor %}
    end
{%- endmacro %}

{#
    Why a game event cannot be used, or null: `unknown_event_type`; `missing_field:<f>` when a
    field its type needs (var quality__game_event_fields) is absent; `not_a_number:<f>` or
    `out_of_range:<f>` when a number is not one, or is outside var quality__game_bounds.
    `event` is the parsed struct (raw text fields); the typed columns are in scope by name.
#}
{% macro lakehouse_game_event_reason(event, event_type) -%}
    {%- set fields = var('quality__game_event_fields') -%}
    {%- set bounds = var('quality__game_bounds') -%}
    case
        when {{ event_type }} is null or {{ event_type }} not in (
            {%- for t in fields %}'{{ t }}'{% if not loop.last %}, {% endif %}{% endfor -%}
        ) then 'unknown_event_type'
        {%- for t, needed in fields.items() %}
        {%- for f in needed %}
        when {{ event_type }} = '{{ t }}' and ({{ event }}.{{ f }} is null or trim({{ event }}.{{ f }}) = '')
            then 'missing_field:{{ f }}'
        {%- if f in bounds %}
        when {{ event_type }} = '{{ t }}' and try_cast({{ event }}.{{ f }} as double) is null
            then 'not_a_number:{{ f }}'
        when {{ event_type }} = '{{ t }}'
            and ({{ f }} is null or {{ f }} not between {{ bounds[f][0] }} and {{ bounds[f][1] }})
            then 'out_of_range:{{ f }}'
        {%- endif %}
        {%- endfor %}
        {%- endfor %}
    end
{%- endmacro %}
