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
